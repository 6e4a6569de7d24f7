"""Running an archive from the command line: progress while it runs, the summary at the end."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio
import msgspec

from ..archive import ArchiveSource, ArchiveSummary, DryRunFile, Progress, archive
from .exits import EXIT_FAILED, EXIT_OK, EXIT_STOPPED
from .progress import limits_text, make_reporter, summary_text
from .settings import ArchiveRun, Output

logger = logging.getLogger("hoverbentley.cli")
T = TypeVar("T")


async def run_archive(
    run: ArchiveRun, output: Output, source: ArchiveSource, out: Path | str
) -> ArchiveSummary:
    """Archive ``source`` into ``out`` as the archive run flags say, with progress if asked.

    With ``--dry-run --json`` each planned file is a JSON line on stdout (what would be
    fetched or skipped, and why) before the summary's. A run stopped by Ctrl-C or SIGTERM
    keeps what it had done (:func:`stopped_run`) for the one message the command line ends
    with, so a cron or Kubernetes log shows how far it got; with ``--json`` that summary
    (``"interrupted": true``) is also the line on stdout.
    """
    options = run.options
    limits = limits_text(run.bandwidth_limit, options.max_transfer, options.max_duration)
    logger.info(f"archive into {out}: {limits}")
    shown = make_reporter(interval=run.progress_interval) if output.progress else None
    seen: list[Progress] = []

    async def reporter(progress: Progress) -> None:
        seen.append(progress)
        if shown is not None:
            await shown(progress)
        else:
            await anyio.sleep_forever()

    listing = _print_file if run.options.dry_run and output.json else None
    try:
        return await archive(
            source,
            out,
            run.options,
            reporter=reporter,
            shard=run.shard,
            shard_by=run.shard_by,
            listing=listing,
        )
    except anyio.get_cancelled_exc_class():
        if seen:
            partial = seen[0].summary(str(out), dry_run=run.options.dry_run, interrupted=True)
            _stopped.append(partial)
            if output.json:
                print_result(partial, summary_text, as_json=True)
        raise


def _print_file(file: DryRunFile) -> None:
    """A dry run's line of one file on stdout (``--dry-run --json``; the summary comes last)."""
    sys.stdout.buffer.write(msgspec.json.encode(file) + b"\n")


#: The summary of an archive run that a signal stopped (at most one per process).
_stopped: list[ArchiveSummary] = []


def stopped_run() -> ArchiveSummary | None:
    """What an archive run had done when Ctrl-C or SIGTERM stopped it (``None``: no run)."""
    return _stopped[-1] if _stopped else None


def report_summary(output: Output, summary: ArchiveSummary) -> int:
    """Print the summary (JSON on stdout with --json) and return the exit status (see
    :mod:`.exits`: a run a limit stopped has its own)."""
    logger.info("archive finished", extra={"summary": msgspec.to_builtins(summary)})
    print_result(summary, summary_text, as_json=output.json)
    if summary.stopped is not None:
        return EXIT_STOPPED[summary.stopped]
    return EXIT_OK if summary.ok else EXIT_FAILED


def print_result(result: T, text: Callable[[T], str], *, as_json: bool) -> None:
    """``result`` as one JSON line on stdout, or its human ``text``."""
    if as_json:
        sys.stdout.buffer.write(msgspec.json.encode(result) + b"\n")
        sys.stdout.flush()
    else:
        print(text(result))


def print_deleted(output: Output, identifier: str | int) -> None:
    """What a delete command prints: ``ID<TAB>deleted``, or ``{"id": …, "deleted": true}``."""
    if output.json:
        sys.stdout.buffer.write(msgspec.json.encode({"id": identifier, "deleted": True}) + b"\n")
    else:
        print(f"{identifier}\tdeleted")
