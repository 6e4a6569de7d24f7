"""``--log-file`` and ``--log-format json`` in a real process against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import SMALL_SIZES

from .helpers import FAST, error_line, hb, hover_env


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator.threaded(EmulatorConfig(jobs=2, sizes=SMALL_SIZES)) as emulator:
        yield emulator


@pytest.fixture
def job_id(emu: Emulator) -> int:
    emu.faults.clear()
    return emu.job_ids(archived=False)[0]


def events(text: str) -> list[dict[str, Any]]:
    parsed = [json.loads(line) for line in text.splitlines()]
    for event in parsed:
        assert {"time", "level", "logger", "message"} <= set(event), event
        datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    return parsed


@pytest.mark.parametrize("where", ["before", "after"])
def test_json_log_file_holds_every_request_and_stderr_stays_clean(
    emu: Emulator, job_id: int, tmp_path: Path, where: str
) -> None:
    log = tmp_path / "run.log"
    flags = ["-vv", "--log-file", str(log), "--log-format", "json"]
    argv = (
        [*flags, "hover", "job", str(job_id)]
        if where == "before"
        else ["hover", "job", str(job_id), *flags]
    )
    result = hb(*argv, *FAST, env=hover_env(emu))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    logged = events(log.read_text())
    requests = [e for e in logged if e["level"] == "debug" and e["message"].startswith("GET ")]
    (request,) = requests
    assert request["message"].startswith(f"GET {emu.hover_url}/api/v3/jobs/{job_id}?")
    assert emu.config.token not in log.read_text()


def test_json_log_lines_on_stderr_carry_retries_and_the_summary(
    emu: Emulator, job_id: int, tmp_path: Path
) -> None:
    emu.script(f"/api/v3/jobs/{job_id}", "503")
    result = hb(
        "-v",
        "--log-format",
        "json",
        "hover",
        "archive",
        tmp_path / "out",
        "--job",
        job_id,
        "--json",
        *FAST,
        env=hover_env(emu),
    )
    assert result.returncode == 0, result.stderr
    logged = events(result.stderr)
    assert any(e["message"].startswith("retrying GET ") for e in logged)
    (finished,) = [e for e in logged if e["message"] == "archive finished"]
    assert finished["summary"] == json.loads(result.stdout)


def test_log_file_is_appended_and_gets_the_final_error(emu: Emulator, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text('{"earlier": true}\n')
    result = hb(
        "--log-file",
        log,
        "--log-format",
        "json",
        "hover",
        "job",
        "999999999",
        *FAST,
        env=hover_env(emu),
    )
    assert result.returncode == 1
    line = error_line(result)
    logged = [json.loads(x) for x in log.read_text().splitlines()]
    assert logged[0] == {"earlier": True}
    assert logged[-1]["level"] == "error" and logged[-1]["message"] == line


def test_a_log_file_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    result = hb("--log-file", tmp_path, "hover", "jobs", env=hover_env(None))
    assert result.returncode == 2
    assert error_line(result) == (
        f"hoverbentley: error: cannot write --log-file {tmp_path}: Is a directory"
    )


def test_text_logs_stay_the_default(emu: Emulator, job_id: int) -> None:
    result = hb("-vv", "hover", "job", job_id, *FAST, env=hover_env(emu))
    assert result.returncode == 0
    (line,) = [x for x in result.stderr.splitlines() if " GET " in x]
    _, level, message = line.split(" ", 2)
    assert level == "DEBUG" and message.startswith(f"GET {emu.hover_url}/api/v3/jobs/{job_id}?")
