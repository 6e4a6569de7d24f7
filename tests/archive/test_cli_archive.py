"""``hoverbentley hover archive`` and ``hoverbentley demo`` as processes, against the emulator."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from hoverbentley.emulator.catalog import file_key
from tests.support import HB, cli_env, hover_archive, hover_env

from .helpers import (
    SMALL_SIZES,
    KiB,
    MiB,
    assert_complete,
    assert_no_credentials_to_storage,
    disk_files,
    expected_by_key,
    failed_models,
    live_progress,
    main_model_pdf,
    partial_files,
    read_manifest,
    storage_fragment,
    storage_requests,
)

FAST = ["-q", "--requests-per-minute", "0"]
#: Big enough to stream through ``.part`` files, slow enough to be caught mid-run.
CRASH_SIZES = {**SMALL_SIZES, "cad_exports": (1536 * KiB, 3 * MiB)}
CRASH_FAULTS = FaultConfig(slow=1.0, slow_delay=0.01)
SIGINT_FAULTS = FaultConfig(slow=1.0, slow_delay=0.05)


EMULATOR = EmulatorConfig(jobs=10, sizes=SMALL_SIZES)


@pytest.fixture
def emu(emu_thread: Emulator) -> Emulator:
    return emu_thread


def env_for(emu: Emulator | None, **overrides: str) -> dict[str, str]:
    """The emulator's environment, or without one a usage-error environment: nothing listens on
    the discard port, so a usage error must stop before any request. An empty override unsets."""
    if emu is None:
        env = cli_env(
            HOVER_TOKEN="emu-static-token",
            HOVER_CURRENT_USER_EMAIL="a@b.example",
            HOVER_BASE_URL="http://127.0.0.1:9",
        )
    else:
        env = hover_env(emu)
    for name, value in overrides.items():
        if value:
            env[name] = value
        else:
            env.pop(name, None)
    return env


def hb(
    emu: Emulator | None, out: Path, *args: str, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hover_archive(out, *args),
        env=env_for(emu, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def summary_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    summary: dict[str, Any] = json.loads(lines[0])
    return summary


def assert_clean_stderr(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr


def test_archive_all_json_summary(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = hb(emu, out, "--all", "--archived", "--json", *FAST)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # -q: no progress, no log lines

    expected = emu.expected_files()
    job_ids = emu.job_ids()
    summary = summary_of(result)
    assert summary["out"] == str(out)
    assert summary["dry_run"] is False and summary["interrupted"] is False
    assert summary["jobs"] == len(job_ids) and summary["jobs_failed"] == 0
    assert summary["files"] == summary["downloaded"] == len(expected)
    assert summary["skipped"] == summary["failed"] == 0
    assert summary["bytes"] == sum(f.size for f in expected)
    assert summary["planned_bytes"] is None
    assert sum(summary["formats"].values()) == len(expected)
    assert summary["failures"] == [] and summary["job_failures"] == []
    assert summary["elapsed"] > 0 and summary["bytes_per_second"] > 0
    skipped = {
        (s["job_id"], s["part_id"], s["state"], s.get("reason")) for s in summary["skipped_parts"]
    }
    assert skipped == failed_models(emu, job_ids)

    assert_complete(out, emu, job_ids)
    assert len(storage_requests(emu)) == len(expected)
    assert_no_credentials_to_storage(emu)


@pytest.mark.parametrize(
    "include", [["--include", "pdf,images"], ["--include", "images", "--include", "pdf"]]
)
def test_archive_jobs_by_id_with_include(emu: Emulator, tmp_path: Path, include: list[str]) -> None:
    out = tmp_path / "out"
    jobs = emu.job_ids()[2:4]
    args = [a for j in jobs for a in ("--job", str(j))]
    result = hb(emu, out, *args, *include, "--json", *FAST)
    assert result.returncode == 0, result.stderr
    expected = [
        f
        for j in jobs
        for f in emu.expected_files(j)
        if f.kind == "image" or f.url.split("?")[0].endswith(".pdf")
    ]
    summary = summary_of(result)
    assert summary["jobs"] == len(jobs)
    assert summary["downloaded"] == summary["files"] == len(expected)
    assert set(summary["formats"]) <= {"pdf", "jpg", "jpeg", "png"}
    assert_complete(out, emu, jobs, expected=expected)


def test_dry_run_since_lists_unarchived_jobs_updated_since(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    since = datetime(2025, 1, 2, 12, tzinfo=timezone.utc)

    def updated(job_id: int) -> datetime:
        stamp = emu.job_payload(job_id)["updated_at"]
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))

    jobs = [j for j in emu.job_ids(archived=False) if updated(j) >= since]
    assert 0 < len(jobs) < len(emu.job_ids())
    result = hb(emu, out, "--all", "--since", "2025-01-02T12:00:00", "--dry-run", "--json", *FAST)
    assert result.returncode == 0, result.stderr
    *files, summary = [json.loads(line) for line in result.stdout.splitlines()]
    assert summary["dry_run"] is True
    assert {f["job_id"] for f in files} == {str(j) for j in jobs}
    assert len(files) == summary["files"]
    assert summary["jobs"] == len(jobs)
    assert summary["files"] == sum(len(emu.expected_files(j)) for j in jobs)
    assert summary["downloaded"] == summary["bytes"] == 0
    assert not out.exists()
    assert not storage_requests(emu)
    assert {r.path for r in emu.requests} <= {"/api/v3/jobs"} | {f"/api/v3/jobs/{j}" for j in jobs}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "say which jobs: --job ID (repeatable), --files-from FILE or --all"),
        (["--all", "--job", "1"], {}, "--job and --files-from exclude --all"),
        (["--all"], {"HOVER_TOKEN": ""}, "Hover credentials missing"),
        (["--all", "--include", ","], {}, "--include needs at least one kind"),
        (["--all", "--since", "last tuesday"], {}, "argument --since: not a date"),
        (["--all", "--concurrency", "0"], {}, "argument --concurrency: must be 1 to 1024: 0"),
    ],
    ids=["no-jobs", "job-and-all", "no-token", "empty-include", "bad-since", "bad-concurrency"],
)
def test_usage_errors_exit_2_with_one_error_line(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    out = tmp_path / "out"
    result = hb(None, out, *args, **env)
    assert result.returncode == 2, result.stderr
    assert_clean_stderr(result)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert lines == errors
    if message.startswith("argument"):
        # Errors argparse finds name the command and point to its --help.
        assert lines[0].startswith("hoverbentley hover archive: error: ")
        assert lines[0].endswith("(see hoverbentley hover archive --help)")
    else:
        assert lines[0].startswith("hoverbentley: error: ")
    assert not out.exists()


def test_failing_file_exits_1_and_the_rest_complete(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    bad = expected_by_key(emu, main_model_pdf(0))
    fragment = storage_fragment(emu, bad.url)
    emu.script(fragment, *["503"] * 10)
    result = hb(emu, out, "--all", "--json", "--max-retries", "1", "--retries", "0", *FAST)
    assert result.returncode == 1, result.stderr
    assert_clean_stderr(result)
    summary = summary_of(result)
    assert summary["failed"] == 1 and summary["jobs_failed"] == 0
    (failure,) = summary["failures"]
    assert failure["path"].startswith(f"hover/{bad.job_id}/models/{bad.model_id}/")
    assert "503" in failure["error"]
    assert emu.config.token not in result.stdout + result.stderr
    attempts = [r for r in storage_requests(emu) if fragment in r.path]
    assert [r.status for r in attempts] == [503, 503]

    listed = emu.job_ids(archived=False)
    expected = [f for j in listed for f in emu.expected_files(j)]
    assert summary["downloaded"] == len(expected) - 1
    entries = {e["path"]: e for e in read_manifest(out)}
    assert entries[failure["path"]]["status"] == "failed"
    assert not (out / failure["path"]).exists()
    good = {(e["url"], e["sha256"]) for e in entries.values() if e["status"] == "ok"}
    assert {(f.url, f.sha256) for f in expected if f.url != bad.url} <= good
    on_disk = disk_files(out)
    for path, entry in entries.items():
        if entry["status"] == "ok":
            assert on_disk[path] == entry["sha256"]


def _wait_for(proc: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended (status {proc.returncode}) before it could be stopped")
        if ready():
            return
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    pytest.fail("the run did not get far enough in time")


def _default_sigint() -> None:
    # A job started in the background by a non-interactive shell ignores SIGINT, and its
    # children inherit that: give the CLI the disposition a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(emu: Emulator, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        hover_archive(out, "--all", "--json", "--concurrency", "4", *FAST),
        env=env_for(emu),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_finishes_with_little_left_to_fetch(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = EmulatorConfig(jobs=3, sizes=CRASH_SIZES, faults=CRASH_FAULTS)
    with Emulator.threaded(config) as emu:
        expected = [f for j in emu.job_ids(archived=False) for f in emu.expected_files(j)]
        total = sum(f.size for f in expected)
        proc = _start(emu, out)

        def far_enough() -> bool:
            _, done_bytes, parts = live_progress(out)
            return done_bytes >= 0.4 * total and bool(parts)

        _wait_for(proc, far_enough)
        proc.kill()
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        done_bytes = live_progress(out)[1]
        assert done_bytes < total

        emu.faults.config = FaultConfig()  # full speed for the rerun
        mark = len(emu.requests)
        result = hb(emu, out, "--all", "--json", *FAST)
        assert result.returncode == 0, result.stderr
        summary = summary_of(result)
        assert summary["failed"] == 0
        assert summary["downloaded"] + summary["skipped"] == summary["files"] == len(expected)
        # Only what was not complete crossed the network again, and less than half of it all.
        assert summary["bytes"] <= total - done_bytes
        assert summary["bytes"] < 0.6 * total
        # Parts resumed (416: a part already whole when killed, just renamed).
        ranged = [r for r in storage_requests(emu, mark) if r.range]
        assert ranged and {r.status for r in ranged} <= {206, 416}

        assert_complete(out, emu, emu.job_ids(archived=False), expected=expected, strict=False)
        assert not partial_files(out)


@pytest.mark.slow
def test_sigint_exits_130_promptly_with_a_clean_archive_and_a_rerun_completes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    # Slower bodies than the SIGKILL test: the run must still be going when the signal lands.
    config = EmulatorConfig(jobs=3, sizes=CRASH_SIZES, faults=SIGINT_FAULTS)
    with Emulator.threaded(config) as emu:
        expected = [f for j in emu.job_ids(archived=False) for f in emu.expected_files(j)]
        proc = _start(emu, out)
        _wait_for(proc, lambda: (p := live_progress(out))[0] >= 2 and bool(p[2]))
        at_signal = len(storage_requests(emu))
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        # --json: the summary of what was done, marked interrupted.
        assert json.loads(stdout)["interrupted"] is True
        # Ctrl-C stops the run at once: at most one more file started per worker (--concurrency
        # 4), none after that, and files were left to fetch.
        after = len(storage_requests(emu)) - at_signal
        assert after <= 4, f"{after} downloads started after Ctrl-C"
        assert len(storage_requests(emu)) < len(expected)
        assert proc.returncode == 130, stderr
        assert "Traceback" not in stderr
        said = stderr.strip().splitlines()
        # One message: how far it got (for the log) and that a rerun resumes.
        assert said[-1].startswith("hoverbentley: interrupted (Ctrl-C) after ")
        assert " downloaded " in said[-1]
        assert said[-1].endswith("; run the same command again to resume")
        assert len([line for line in said if "interrupted" in line]) == 1

        # Whole manifest lines only; no half-written file at a final path.
        lines = read_manifest(out, strict=True)
        done = {e["path"]: e for e in lines if e["status"] == "ok"}
        assert len([p for p in done if not p.endswith("job.json")]) < len(expected)
        snapshot = {
            p: h for p, h in disk_files(out).items() if not p.endswith((".part", ".part.json"))
        }
        for path, entry in done.items():
            assert snapshot[path] == entry["sha256"]

        emu.faults.config = FaultConfig()
        result = hb(emu, out, "--all", "--json", *FAST)
        assert result.returncode == 0, result.stderr
        summary = summary_of(result)
        assert summary["failed"] == 0 and summary["skipped"] >= len(done) - len(emu.job_ids())
        complete = assert_complete(out, emu, emu.job_ids(archived=False), expected=expected)
        for path, digest in snapshot.items():
            assert complete[path]["sha256"] == digest, path
        assert not partial_files(out)


def test_demo_json(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [*HB, "demo", str(out), "--jobs", "3", "--json", "-q"],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert_clean_stderr(result)
    summary = summary_of(result)
    # The demo's emulator is built from the same seed: its files are these.
    reference = {
        file_key(f.url): f.sha256 for f in Emulator(EmulatorConfig(jobs=3)).expected_files()
    }
    assert summary["failed"] == 0 and summary["out"] == str(out)
    assert summary["downloaded"] == summary["files"] == len(reference)
    entries = [
        e for e in read_manifest(out) if e["kind"] != "job" and e["path"].startswith("hover/")
    ]
    assert {file_key(e["url"]): e["sha256"] for e in entries} == reference
    on_disk = disk_files(out)
    for entry in entries:
        assert on_disk[entry["path"]] == entry["sha256"]
    assert (out / "index.csv").exists()


def test_failing_job_listing_exits_1_in_one_line_and_writes_nothing(
    emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    emu.script("/api/v3/jobs?", *["500"] * 10)
    result = hb(emu, out, "--all", "--json", "--max-retries", "1", *FAST)
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("hoverbentley: error: GET HTTP 500") and "/api/v3/jobs?" in line
    assert emu.config.token not in line
    listing = emu.requests_to("hover", "/api/v3/jobs?")
    assert [r.status for r in listing] == [500, 500]  # one retry, as asked
    assert not storage_requests(emu)
    assert disk_files(out) == {}
