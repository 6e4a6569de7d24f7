"""The progress display: one line redrawn in place on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import anyio
import pytest

from hoverbentley.archive import Progress
from hoverbentley.cli.progress import make_reporter, progress_line
from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from tests.archive.helpers import SMALL_SIZES, KiB, MiB
from tests.support import HB

from .helpers import FAST, bentley_env, hover_env, run_on_terminal

SIZES = {**SMALL_SIZES, "cad_exports": (1536 * KiB, 3 * MiB)}
# Slow enough that the run lasts several redraws (every 0.5 s) even on an idle machine.
SLOW = FaultConfig(slow=1.0, slow_delay=0.04)


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
    p.started -= 100  # a rate that stays put while the test runs
    p.bytes = 123_456_789
    full = progress_line(p)
    assert full.startswith("jobs 11/12+ | files 204/345 (200 new, 3 skipped, 1 failed)")
    assert progress_line(p, len(full) + 1) == full
    for width in (10, 40, 60, len(full)):
        line = progress_line(p, width)
        assert len(line) < width
        assert line.startswith("files 204/345"[: width - 1])
    assert "(1 failed)" in progress_line(p, 60)


def test_off_a_terminal_progress_is_plain_log_lines() -> None:
    stream = io.StringIO()

    async def main() -> None:
        with anyio.move_on_after(0.2):
            await make_reporter(stream, interval=0.05)(Progress(jobs=1, files=2))

    anyio.run(main)
    lines = stream.getvalue().splitlines(keepends=True)
    assert len(lines) >= 2
    assert all(line.startswith("jobs 0/1+ | files 0/2") and line.endswith("\n") for line in lines)
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


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
