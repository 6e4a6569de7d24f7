"""Tokens and secrets never leak: not in output, logs, OUT, nor to the storage host."""

from __future__ import annotations

import json
import stat
import subprocess
import time
from pathlib import Path

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.support import cli_env, hover_archive, user_email

SECRET = "cs-SECRET-9f8e7d6c5b4a"
REFRESH = "rt-SECRET-0a1b2c3d4e5f"
STALE = "at-SECRET-stale-778899"


def test_cli_archive_with_oauth_leaks_no_secret(tmp_path: Path) -> None:
    config = EmulatorConfig(jobs=4, client_secret=SECRET, refresh_token=REFRESH)
    token_file = tmp_path / "tokens" / "hover.json"
    token_file.parent.mkdir()
    # A stored access token the server does not know: the first request gets a 401, the
    # client refreshes (rotating the refresh token) and goes on.
    token_file.write_text(
        json.dumps(
            {"refresh_token": REFRESH, "access_token": STALE, "expires_at": time.time() + 3600}
        )
    )
    out = tmp_path / "out"
    with Emulator.threaded(config) as emu:
        emu.script("/files/", "429", "500", "reset")
        emu.script("/api/v3/jobs/", "503")
        env = cli_env(
            HOVER_CLIENT_ID=config.client_id,
            HOVER_CLIENT_SECRET=SECRET,
            HOVER_TOKEN_FILE=str(token_file),
            HOVER_CURRENT_USER_EMAIL=user_email(emu),
            HOVER_BASE_URL=emu.hover_url,
        )
        result = subprocess.run(
            hover_archive(out, "--all", "--json", "-vv", "--requests-per-minute", "0"),
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        issued = list(emu.accounts.issued)
        final_refresh = emu.refresh_token
        storage = emu.requests_to("storage")
    assert result.returncode == 0, result.stderr[-3000:]
    assert issued and final_refresh != REFRESH
    secrets = [SECRET, REFRESH, STALE, final_refresh, *issued]

    assert "retrying" in result.stderr  # the verbose log really ran through the faults
    for secret in secrets:
        assert secret not in result.stdout and secret not in result.stderr
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, (secret, path)

    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    stored = json.loads(token_file.read_text())
    assert stored["refresh_token"] == final_refresh  # the newest refresh token was persisted

    assert storage, "files came from the storage host"
    for request in storage:
        assert request.authorization is None
        assert "current_user_email" not in request.query
