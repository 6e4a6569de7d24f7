"""``hoverbentley bentley ...`` in a real process against the emulator."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest

from hoverbentley.emulator import Emulator
from tests.support import HB, bentley_env

SEED_JOB = "cc3d35cc-416a-4262-9714-b359da70b419"


@pytest.fixture
def emu(emu_module: Emulator) -> Emulator:
    return emu_module


def run(
    emu: Emulator, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = bentley_env(emu, **(env or {}))
    return subprocess.run(
        [*HB, *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )


def test_jobs_lists_every_match_as_json_lines(emu: Emulator) -> None:
    itwin = emu.itwin_ids[1]
    result = run(emu, "bentley", "jobs", "--filter", f"iTwinId eq {itwin}", "--top", "9", "--json")
    assert result.returncode == 0, result.stderr
    ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert ids == [j["id"] for j in emu.bentley_jobs() if j["iTwinId"] == itwin]


def test_job_json_is_the_body_the_service_sent(emu: Emulator) -> None:
    result = run(emu, "bentley", "job", SEED_JOB, "--json")
    assert result.returncode == 0, result.stderr
    request = urllib.request.Request(
        f"{emu.reality_modeling_url}/jobs/{SEED_JOB}",
        headers={"Authorization": f"Bearer {emu.config.bentley.token}"},
    )
    with urllib.request.urlopen(request) as resp:
        assert json.loads(result.stdout) == json.loads(resp.read())


def test_archive_saves_each_job_record(emu: Emulator, tmp_path: Path) -> None:
    itwin = emu.itwin_ids[0]
    out = tmp_path / "out"
    result = run(
        emu,
        "bentley",
        "archive",
        str(out),
        "--filter",
        f"iTwinId eq {itwin}",
        "--records-only",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    expected = [j for j in emu.bentley_jobs() if j["iTwinId"] == itwin]
    assert summary["jobs"] == len(expected)
    for job in expected:
        saved = json.loads((out / "bentley" / job["id"] / "job.json").read_bytes())
        assert saved == {"job": job}
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == len(expected)
    assert SEED_JOB in (out / "index.csv").read_text()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["bentley", "jobs", "--filter", "state eq 'success'", "--top", "5000"], "$top"),
        (["bentley", "jobs"], "--filter"),
    ],
)
def test_usage_errors_exit_2_with_one_line(emu: Emulator, args: list[str], fragment: str) -> None:
    result = run(emu, *args)
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_missing_credentials_is_a_usage_error(emu: Emulator) -> None:
    result = run(emu, "bentley", "job", SEED_JOB, env={"BENTLEY_TOKEN": ""})
    assert result.returncode == 2
    assert "credentials missing" in result.stderr and "Traceback" not in result.stderr


def test_server_errors_are_one_line_without_the_token(emu: Emulator) -> None:
    result = run(emu, "bentley", "job", "00000000-0000-4000-8000-000000000009")
    assert result.returncode == 1
    assert "JobNotFound" in result.stderr or "404" in result.stderr
    assert emu.config.bentley.token not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
