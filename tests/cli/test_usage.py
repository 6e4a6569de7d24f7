"""What a user sees for mistakes, flags in either place, help, and failures: real processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.support import cli_env

from .helpers import FAST, bentley_env, error_line, hb, hover_env


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator.threaded(EmulatorConfig(jobs=3)) as emulator:
        yield emulator


@pytest.fixture
def job_id(emu: Emulator) -> int:
    emu.faults.clear()
    return emu.job_ids(archived=False)[0]


# -- -v, -vv and -q before the command --------------------------------------------------------


def test_vv_before_the_command_logs_every_request(emu: Emulator, job_id: int) -> None:
    result = hb("-vv", "hover", "job", job_id, *FAST, env=hover_env(emu))
    assert result.returncode == 0, result.stderr
    assert f"DEBUG GET {emu.hover_url}/api/v3/jobs/{job_id}" in result.stderr


def test_v_before_and_after_the_command_add_up(emu: Emulator, job_id: int) -> None:
    result = hb("-v", "hover", "job", job_id, "-v", *FAST, env=hover_env(emu))
    assert result.returncode == 0, result.stderr
    assert " DEBUG GET " in result.stderr


def test_v_before_the_command_logs_retries(emu: Emulator, job_id: int) -> None:
    emu.script(f"/api/v3/jobs/{job_id}", "503")
    result = hb("-v", "hover", "job", job_id, *FAST, env=hover_env(emu))
    assert result.returncode == 0, result.stderr
    assert " INFO retrying GET " in result.stderr
    assert " DEBUG " not in result.stderr


def test_q_before_the_command_wins_over_v_after_it(emu: Emulator, job_id: int) -> None:
    emu.script(f"/api/v3/jobs/{job_id}", "503")
    result = hb("-q", "hover", "job", job_id, "-v", *FAST, env=hover_env(emu))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(emu.requests_to("hover", f"/api/v3/jobs/{job_id}")) >= 2  # it did retry


# -- usage errors: exit 2, one line, nothing sent -----------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "fragments"),
    [
        (
            ["hover", "archive", "OUT", "--job", "1", "--since", "2025-01-01"],
            {},
            ["--since", "only with --all", "not with --job"],
        ),
        (["hover", "archive", "OUT", "--job", "1", "--archived"], {}, ["--archived", "--all"]),
        (["hover", "archive", "OUT", "--job", "-5"], {}, ["argument --job", "not a job id: '-5'"]),
        (["hover", "job", "-5"], {}, ["not a job id: '-5'"]),
        (["hover", "job", "0"], {}, ["not a job id: '0'"]),
        (
            ["hover", "archive", "OUT", "--all"],
            {"HOVER_TOKEN": ""},
            [
                "Hover credentials missing",
                "--token",
                "HOVER_TOKEN",
                "--client-id",
                "HOVER_CLIENT_SECRET",
                "--refresh-token",
            ],
        ),
        (
            ["hover", "jobs"],
            {"HOVER_CURRENT_USER_EMAIL": ""},
            ["--current-user-email", "HOVER_CURRENT_USER_EMAIL", "--current-user-id"],
        ),
        (
            ["hover", "jobs"],
            {"HOVER_BASE_URL": "http://127.0.0.1:9/api/v3/"},
            ["includes the API path", "--base-url http://127.0.0.1:9"],
        ),
        (
            ["hover", "jobs", "--base-url", "http://127.0.0.1:9/api/v2"],
            {},
            ["includes the API path", "--base-url http://127.0.0.1:9"],
        ),
        (
            ["hover", "archive", "OUT", "--all", "--bogus"],
            {},
            ["unrecognized arguments: --bogus", "(see hoverbentley hover archive --help)"],
        ),
        (
            ["bentley", "job", "x", "--bogus"],
            {},
            ["unrecognized arguments: --bogus", "(see hoverbentley bentley job --help)"],
        ),
        (
            ["bentley", "jobs", "--filter", "state eq 'success'"],
            {},
            [
                "Bentley credentials missing",
                "--token",
                "BENTLEY_TOKEN",
                "--client-id",
                "BENTLEY_CLIENT_SECRET",
            ],
        ),
        (
            ["hover", "archive", "OUT", "--all", "--concurrency", "99999999999999999999"],
            {},
            ["argument --concurrency", "must be 1 to 1024"],
        ),
        (
            ["hover", "archive", "OUT", "--all", "--detail-concurrency", "2000"],
            {},
            ["argument --detail-concurrency", "must be 1 to 1024: 2000"],
        ),
        (["verify", "OUT", "--concurrency", "100000000"], {}, ["must be 1 to 1024"]),
        (["serve", "OUT", "--port", "65545"], {}, ["argument --port", "not a port (0 to 65535)"]),
        (["emulator", "--port", "-1"], {}, ["argument --port", "not a port (0 to 65535): -1"]),
        (
            ["hover", "jobs"],
            {"HOVER_TOKEN": "abc\ndef"},
            ["the bearer token holds a line break"],
        ),
        (
            ["hover", "jobs", "--base-url", "http://ops:PASSW0RD@127.0.0.1:99999"],
            {},
            ["not a valid URL (Port out of range 0-65535)", "ops:REDACTED@127.0.0.1:99999"],
        ),
        (
            ["hover", "archive", "OUT", "--all"],
            {"HOVERBENTLEY_SHARDS": "abc"},
            ["HOVERBENTLEY_SHARDS='abc' is not a shard count"],
        ),
        (
            ["hover", "archive", "OUT", "--all", "--shards", "4"],
            {},
            ["4 shards, but which is this one?", "JOB_COMPLETION_INDEX", "--shard K/N"],
        ),
        (
            ["hover", "archive", "OUT", "--all", "--ca-file", "/nonexistent/ca.pem"],
            {},
            ["--ca-file (HOVERBENTLEY_CA_FILE): /nonexistent/ca.pem: no such file"],
        ),
    ],
    ids=[
        "since-with-job",
        "archived-with-job",
        "negative-job",
        "negative-job-show",
        "zero-job",
        "no-hover-token",
        "no-hover-user",
        "base-url-api-v3",
        "base-url-api-v2",
        "unknown-flag-hover",
        "unknown-flag-bentley",
        "no-bentley-token",
        "huge-concurrency",
        "detail-concurrency-over-the-bound",
        "verify-concurrency-over-the-bound",
        "serve-port-out-of-range",
        "emulator-negative-port",
        "token-with-a-line-break",
        "base-url-port-out-of-range",
        "malformed-shards-variable",
        "shards-without-an-index",
        "missing-ca-file",
    ],
)
def test_usage_errors_exit_2_naming_the_problem(
    tmp_path: Path, args: list[str], env: dict[str, str], fragments: list[str]
) -> None:
    out = tmp_path / "out"
    argv = [str(out) if a == "OUT" else a for a in args]
    result = hb(*argv, env=hover_env(None, **env))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    line = error_line(result)
    assert "error: " in line
    for fragment in fragments:
        assert fragment in line, line
    assert not out.exists()


def test_out_that_is_a_file_is_not_a_directory(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("notes")
    mark = len(emu.requests)
    for command in (
        ["hover", "archive", out, "--all", *FAST],
        ["demo", out, "--jobs", "1"],
    ):
        result = hb(*command, env=hover_env(emu))
        assert result.returncode == 2, result.stderr
        assert error_line(result) == f"hoverbentley: error: OUT is not a directory: {out}"
    assert out.read_text() == "notes"
    assert len(emu.requests) == mark


# -- failures at run time -----------------------------------------------------------------------


def test_a_manifest_that_cannot_be_written_is_one_line_and_exit_1(
    emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "manifest.jsonl").mkdir(parents=True)
    for command in (
        ["hover", "archive", out, "--all", *FAST],
        ["demo", out, "--jobs", "1", "-q"],
    ):
        result = hb(*command, env=hover_env(emu))
        assert result.returncode == 1, result.stderr
        line = error_line(result)
        assert line.startswith("hoverbentley: error: ") and "manifest.jsonl" in line, line


def test_a_failed_job_is_counted_in_the_summary(emu: Emulator, job_id: int, tmp_path: Path) -> None:
    emu.script(f"/api/v3/jobs/{job_id}", "503", "503")
    result = hb(
        "hover",
        "archive",
        tmp_path / "out",
        "--job",
        job_id,
        "--max-retries",
        "1",
        "--retries",
        "0",
        *FAST,
        env=hover_env(emu),
    )
    assert result.returncode == 1, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("1 job (1 failed), 0 files: 0 downloaded"), result.stdout
    assert f"job {job_id} failed: " in result.stdout


# -- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "fragments"),
    [
        (["hover"], ["v3 API", "HOVER_"]),
        (["bentley"], ["Reality Modeling", "BENTLEY_"]),
        (["emulator"], ["loopback", "--requests-per-minute 0"]),
        (["hover", "job"], ["ID", "the Hover job id"]),
        (["bentley", "job"], ["ID", "job id (a UUID)"]),
        (["hover", "archive"], ["YYYY-MM-DD", "2025-03-01T12:00:00Z", "UTC when no zone"]),
        (["hover", "jobs"], ["YYYY-MM-DD", "UTC when no zone"]),
        (["hover", "archive"], ["--requests-per-minute", "emulator"]),
    ],
)
def test_help_describes_groups_arguments_and_formats(
    command: list[str], fragments: list[str]
) -> None:
    result = hb(*command, "--help", env=cli_env())
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # argparse wraps lines
    for fragment in fragments:
        assert fragment in text, (fragment, result.stdout)


def test_bentley_usage_error_from_the_library_is_still_one_line(emu: Emulator) -> None:
    result = hb(
        "bentley",
        "jobs",
        "--filter",
        "state eq 'success'",
        "--top",
        "5000",
        env=bentley_env(emu),
    )
    assert result.returncode == 2
    assert "$top" in error_line(result)
