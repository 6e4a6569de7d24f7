"""The progress display: one line redrawn in place on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io
import itertools
import json
import re
import signal
from datetime import datetime, timezone
from pathlib import Path

import anyio
import pytest
from anyio import wait_all_tasks_blocked

from hoverbentley._http.health import HostHealth
from hoverbentley.archive import Progress
from hoverbentley.cli.progress import RateWindow, estimate, make_reporter, progress_line
from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from tests.archive.helpers import SMALL_SIZES, KiB, MiB, big_pdfs, hold_big_files
from tests.support import HB

from .helpers import FAST, Followed, bentley_env, hover_env, run_on_terminal

SIZES = {**SMALL_SIZES, "cad_exports": (1536 * KiB, 3 * MiB)}
# Slow enough that the run lasts several redraws (every 0.5 s) even on an idle machine.
SLOW = FaultConfig(slow=1.0, slow_delay=0.04)
#: A progress line off a terminal: its time (ISO 8601, UTC, to the second), then the line.
STAMPED = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) jobs \d+/\d+")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_rate_is_the_last_ten_seconds_and_falls_to_zero_in_an_outage() -> None:
    clock = Clock()
    window = RateWindow(span=10.0, clock=clock)
    total = 0
    assert window.rate(total) == 0.0
    for _ in range(20):  # 20 s at 1 MiB/s
        clock.now += 1
        total += MiB
        window.rate(total)
    clock.now += 1
    total += 4 * MiB  # then one second at 4 MiB/s: the last ten seconds averaged 1.3 MiB/s
    assert window.rate(total) == pytest.approx(13 * MiB / 10)
    rates = []
    for _ in range(12):  # an outage: nothing arrives
        clock.now += 1
        rates.append(window.rate(total))
    assert rates[0] == pytest.approx(12 * MiB / 10)  # the window still holds the seconds before
    assert rates[-2:] == [0.0, 0.0]  # ten seconds without a byte: 0, whatever came before
    assert all(a >= b for a, b in itertools.pairwise(rates))
    clock.now += 1
    assert window.rate(total + 2 * MiB) == pytest.approx(2 * MiB / 10)  # back


def test_eta_says_planning_until_every_job_is_planned_then_counts_bytes() -> None:
    p = Progress(jobs=3, jobs_planned=1, files=10, downloaded=2)
    p.fetch_files, p.fetch_known_bytes, p.transferred, p.in_flight = 10, 100 * MiB, 25 * MiB, 3
    assert estimate(p, 5 * MiB).planning  # the list is not complete
    p.listing_done = True
    line = progress_line(p, 5 * MiB)
    assert "planning" in line and "ETA" not in line  # two jobs are not planned yet
    p.jobs_planned = 3
    now = estimate(p, 5 * MiB)
    assert not now.planning and now.percent == pytest.approx(25.0)
    assert now.eta == pytest.approx(15.0)  # 75 MiB left at 5 MiB/s
    line = progress_line(p, 5 * MiB)
    assert "| 3 in flight |" in line and "| 25% ETA 15s" in line and "planning" not in line
    assert estimate(p, 0.0).eta is None  # nothing arrives now: no ETA
    assert "25% ETA unknown" in progress_line(p, 0.0)


def test_sizes_the_provider_did_not_give_are_estimated_from_the_files_done() -> None:
    p = Progress(jobs=1, jobs_planned=1, listing_done=True, files=10)
    p.fetch_files = p.fetch_unknown = 10  # Hover gives no sizes
    assert estimate(p, MiB).percent is None  # nothing tells yet
    for _ in range(4):  # 2 MiB a file so far
        p.finished(None, 2 * MiB)
    p.downloaded, p.bytes, p.transferred = 4, 8 * MiB, 8 * MiB
    now = estimate(p, MiB)
    assert now.percent == pytest.approx(40.0)
    assert now.eta == pytest.approx(12.0)  # six more files of 2 MiB at 1 MiB/s


def test_progress_names_a_host_that_has_not_answered_a_request_for_a_while() -> None:
    clock = Clock()
    health = HostHealth(600, clock=clock)
    p = Progress(jobs=1, hosts=[health])
    with health.awaiting("https://hover.example:443"):
        clock.now += 4
        assert "waiting for a response" not in progress_line(p, 0.0)
        clock.now += 3
        assert "waiting for a response from https://hover.example:443 (7 s)" in progress_line(
            p, 0.0
        )
    assert "waiting for a response" not in progress_line(p, 0.0)  # answered


@pytest.mark.slow
def test_on_a_narrow_terminal_every_redraw_fits_one_row(tmp_path: Path) -> None:
    columns = 40
    with Emulator.threaded(EmulatorConfig(jobs=2, sizes=SIZES, faults=SLOW)) as emu:
        result, text = run_on_terminal(
            [*HB, "hover", "archive", str(tmp_path), "--all", *FAST],
            hover_env(emu),
            columns=columns,
        )
    assert result.returncode == 0
    assert "downloaded" in result.stdout  # the summary goes to stdout, progress to the terminal

    assert "\n" not in text, "progress must never start a new row"
    draws = [d for d in text.split("\r") if d]
    lines = [d.removesuffix("\x1b[K") for d in draws]
    shown = [line for line in lines if line]
    assert len(shown) >= 2, text  # redrawn more than once during the run
    for draw, line in zip(draws, lines, strict=True):
        assert draw.endswith("\x1b[K"), draw  # the rest of the row is cleared each time
        assert len(line) < columns, line
        assert "\x1b" not in line
    assert all(re.match(r"files \d+/\d+", line) for line in shown), shown


def test_progress_line_fits_any_width_and_is_whole_without_one() -> None:
    p = Progress(jobs=12, jobs_planned=11, files=345, downloaded=200, skipped=3, failed=1)
    p.transferred = 123_456_789
    full = progress_line(p, 1_234_567)
    assert full.startswith("jobs 11/12+ | files 204/345 (200 new, 3 skipped, 1 failed)")
    assert "117.7 MiB at 1.2 MiB/s" in full
    assert progress_line(p, 1_234_567, len(full) + 1) == full
    for width in (10, 40, 60, len(full)):
        line = progress_line(p, 1_234_567, width)
        assert len(line) < width
        assert line.startswith("files 204/345"[: width - 1])
    assert "(1 failed)" in progress_line(p, 1_234_567, 60)


def test_off_a_terminal_progress_is_plain_log_lines() -> None:
    stream = io.StringIO()

    async def main() -> None:
        with anyio.move_on_after(0.2):
            await make_reporter(stream, interval=0.05)(Progress(jobs=1, files=2))

    anyio.run(main)
    lines = stream.getvalue().splitlines(keepends=True)
    assert len(lines) >= 2
    assert all(STAMPED.match(line) and line.endswith("\n") for line in lines), lines
    assert all(line.split(" ", 1)[1].startswith("jobs 0/1+ | files 0/2") for line in lines)
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_the_first_line_shows_the_rate_of_its_first_interval() -> None:
    stream = io.StringIO()
    progress = Progress(jobs=1, files=2)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(make_reporter(stream, interval=0.05), progress)
            await wait_all_tasks_blocked()  # the reporter waits out its first interval
            progress.transferred = 1_000_000
            while not stream.getvalue():
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()

    anyio.run(main)
    first = stream.getvalue().splitlines()[0]
    assert " at " in first and " at 0 B/s" not in first, first


@pytest.mark.slow
def test_json_hides_progress_on_a_terminal_unless_asked(tmp_path: Path) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=2, sizes=SIZES, faults=SLOW)) as emu:
        argv = [*HB, "hover", "archive", "--all", "--json", *FAST]
        quiet, quiet_terminal = run_on_terminal([*argv, str(tmp_path / "a")], hover_env(emu))
        shown, shown_terminal = run_on_terminal(
            [*argv, str(tmp_path / "b"), "--progress"], hover_env(emu)
        )
        bentley, bentley_terminal = run_on_terminal(
            [
                *HB,
                "bentley",
                "archive",
                str(tmp_path / "c"),
                "--records-only",
                "--json",
                "--filter",
                f"iTwinId eq {emu.itwin_ids[0]}",
                *FAST,
            ],
            bentley_env(emu),
        )
    for result in (quiet, shown, bentley):
        assert result.returncode == 0, result.stdout
        assert json.loads(result.stdout)["failed"] == 0
    assert quiet_terminal == bentley_terminal == ""
    assert "files " in shown_terminal and "\r" in shown_terminal


def test_models_the_provider_did_not_complete_read_as_skipped_not_as_failures() -> None:
    from hoverbentley.archive import ArchiveSummary, SkippedItem
    from hoverbentley.cli.progress import summary_text

    summary = ArchiveSummary(
        out="out",
        dry_run=False,
        jobs=2,
        jobs_failed=0,
        files=4,
        downloaded=4,
        skipped=0,
        failed=0,
        bytes=10,
        planned_bytes=10,
        elapsed=1.0,
        bytes_per_second=10.0,
        files_per_second=4.0,
        formats={"pdf": 4},
        skipped_parts=[SkippedItem("15084303", "15081686", "failed", None, kind="model")],
        failures=[],
        job_failures=[],
    )
    text = summary_text(summary).splitlines()
    assert text[1] == (
        "skipped 1 model that is not complete at the provider (not download failures):"
    )
    assert text[2] == "  job 15084303 model 15081686: the provider says 'failed'"
    assert not [line for line in text if line.lstrip().startswith("failed")]


def _stamped(lines: list[str]) -> list[tuple[datetime, str]]:
    """The progress lines among ``lines``, each with its time."""
    found = []
    for line in lines:
        match = STAMPED.match(line)
        if match:
            when = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
            found.append((when, line))
    return found


@pytest.mark.slow
def test_off_a_terminal_lines_carry_their_time_and_say_planning_while_a_job_is_unanswered(
    tmp_path: Path,
) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=3, sizes=SMALL_SIZES)) as emu:
        emu.script(f"/api/v3/jobs/{emu.job_ids()[-1]}", "hang")  # its record never comes
        argv = [*HB, "hover", "archive", str(tmp_path), "--all", "--progress", *FAST]
        argv += ["--progress-interval", "0.1", "--read-timeout", "600"]
        with Followed(argv, hover_env(emu)) as run:
            host = emu.hover_url.rstrip("/")
            run.wait_for(lambda line: f"waiting for a response from {host}" in line)
            status, _ = run.stop()
    assert status == 143
    shown = _stamped(run.lines)
    assert len(shown) >= 2, run.lines
    assert all(when.tzinfo == timezone.utc for when, _ in shown)
    assert [when for when, _ in shown] == sorted(when for when, _ in shown)
    assert all("| planning" in line and "ETA" not in line for _, line in shown), shown


@pytest.mark.slow
def test_once_the_plan_is_complete_progress_gives_percent_and_eta_and_the_rate_falls_to_zero(
    tmp_path: Path,
) -> None:
    config = EmulatorConfig(
        jobs=3,
        sizes=SMALL_SIZES,
        size_overrides=big_pdfs(1, 4 * MiB),
        faults=FaultConfig(stall_seconds=600),
    )
    with Emulator.threaded(config) as emu:
        hold_big_files(emu, 1)  # the big file stops half-way until the client leaves
        argv = [*HB, "hover", "archive", str(tmp_path), "--all", "--progress", *FAST]
        argv += ["--progress-interval", "0.1", "--stall-timeout", "600"]
        with Followed(argv, hover_env(emu)) as run:
            jobs = len(emu.job_ids())
            planned = run.wait_for(lambda line: f"jobs {jobs}/{jobs} |" in line)
            assert "planning" not in planned
            files = len(emu.expected_files())
            held = run.wait_for(lambda line: f"files {files - 1}/{files} " in line)
            assert "| 1 in flight |" in held and f"jobs {jobs}/{jobs} |" in held
            assert re.search(r"\| \d+% ETA ", held), held
            # Ten seconds without a byte: the current rate is 0 and the ETA unknown.
            still = run.wait_for(lambda line: " at 0 B/s |" in line)
            assert re.search(r"\| \d+% ETA unknown", still), still
            status, _ = run.stop()
    assert status == 143


@pytest.mark.slow
def test_verbose_says_which_host_a_request_waits_for_a_response_from() -> None:
    with Emulator.threaded(EmulatorConfig(jobs=2, sizes=SMALL_SIZES)) as emu:
        emu.script("/api/v3/jobs", "hang")  # takes the request, never answers
        argv = [*HB, "hover", "jobs", "-v", "--read-timeout", "600", *FAST]
        with Followed(argv, hover_env(emu)) as run:
            host = emu.hover_url.split("://", 1)[1].rstrip("/")
            line = run.wait_for(lambda line: "waiting for a response" in line)
            status, stdout = run.stop(signal.SIGINT)
    assert f"waiting for a response from {host} (GET " in line, line
    assert status == 130 and stdout == ""
