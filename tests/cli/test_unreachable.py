"""A host that cannot be reached on the first contact is named at once, not retried for long."""

from __future__ import annotations

import subprocess

from tests.processes import free_port
from tests.support import HB, cli_env


def test_a_base_url_nobody_listens_on_is_a_usage_error_at_once() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    env = cli_env(HOVER_TOKEN="t-123456", HOVER_CURRENT_USER_EMAIL="ops@example.com")
    done = subprocess.run(
        [*HB, "hover", "jobs", "--base-url", base, "--max-retries", "5"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "refused the connection" in lines[0]
    assert f"check --base-url {base}" in lines[0]
    assert "Traceback" not in done.stderr
