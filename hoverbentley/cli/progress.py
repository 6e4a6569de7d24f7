"""Progress display and the human summary of an archive run."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TextIO

import anyio

from ..archive.summary import ArchiveSummary, Progress


def human_bytes(n: float) -> str:
    """``1.5 MB`` style sizes (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def progress_line(p: Progress, width: int | None = None) -> str:
    """One line: jobs, files, bytes, rate and ETA; at most ``width - 1`` characters if given.

    A narrow terminal gets a compact line, cut if even that does not fit: a line that wraps
    cannot be redrawn in place.
    """
    jobs = f"jobs {p.jobs_planned}/{p.jobs}" + ("" if p.listing_done else "+")
    rate = human_bytes(p.bytes / p.elapsed if p.elapsed > 0 else 0.0)
    eta = p.eta()
    files = f"files {p.finished_files}/{p.files}"
    tail = [] if eta is None else [f"ETA {_duration(eta)}"]
    waiting = [f"waiting for {host} (down {down:.0f} s)" for host, down in p.waiting_for().items()]
    line = " | ".join(
        [
            jobs,
            f"{files} ({p.downloaded} new, {p.skipped} skipped, {p.failed} failed)",
            f"{human_bytes(p.bytes)} at {rate}/s",
            *tail,
            *waiting,
        ]
    )
    if width is None or len(line) < width:
        return line
    failed = f" ({p.failed} failed)" if p.failed else ""
    line = " | ".join(
        [f"{files}{failed}", *waiting, f"{human_bytes(p.bytes)} {rate}/s", *tail, jobs]
    )
    return line[: max(width - 1, 0)]


def terminal_width(stream: TextIO) -> int:
    """Columns of the terminal ``stream`` writes to (``COLUMNS`` first, as is usual)."""
    fallback = shutil.get_terminal_size()
    if os.environ.get("COLUMNS"):
        return fallback.columns
    try:
        return os.get_terminal_size(stream.fileno()).columns or fallback.columns
    except (AttributeError, OSError, ValueError):
        return fallback.columns


def make_reporter(
    stream: TextIO | None = None, interval: float | None = None
) -> Callable[[Progress], Coroutine[Any, Any, None]]:
    """A coroutine function that shows progress until cancelled.

    On a terminal one line, fitted to its width, is redrawn twice a second; elsewhere a plain
    line is logged every ten seconds.
    """
    out = stream or sys.stderr
    tty = out.isatty()
    every = interval if interval is not None else (0.5 if tty else 10.0)

    async def report(progress: Progress) -> None:
        try:
            while True:
                await anyio.sleep(every)
                if tty:
                    # Return, draw, clear what a longer previous line left: never a new row.
                    out.write("\r" + progress_line(progress, terminal_width(out)) + "\x1b[K")
                else:
                    out.write(progress_line(progress) + "\n")
                out.flush()
        finally:
            if tty:
                out.write("\r\x1b[K")
                out.flush()

    return report


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _jobs(s: ArchiveSummary) -> str:
    """Jobs seen (the summary's ``jobs`` counts the failed ones too), and how many failed."""
    failed = f" ({s.jobs_failed} failed)" if s.jobs_failed else ""
    return _count(s.jobs, "job") + failed


def summary_text(s: ArchiveSummary) -> str:
    """The human summary printed at the end of a run."""
    lines: list[str] = []
    if s.dry_run:
        size = human_bytes(s.planned_bytes) if s.planned_bytes is not None else "size unknown"
        formats = ", ".join(f"{k} {v}" for k, v in s.formats.items()) or "none"
        lines.append(f"dry run: {_jobs(s)}, {_count(s.files, 'file')} ({size}); nothing downloaded")
        lines.append(f"by format: {formats}")
    else:
        lines.append(
            f"{_jobs(s)}, {_count(s.files, 'file')}: {s.downloaded} downloaded"
            f" ({human_bytes(s.bytes)}), {s.skipped} already complete, {s.failed} failed"
            f" in {s.elapsed:.1f} s ({human_bytes(s.bytes_per_second)}/s,"
            f" {s.files_per_second:.1f} files/s)"
        )
    if s.skipped_parts:
        kinds = {p.kind for p in s.skipped_parts}
        kind = kinds.pop() if len(kinds) == 1 else "part"
        verb = "is" if len(s.skipped_parts) == 1 else "are"
        lines.append(
            f"skipped {_count(len(s.skipped_parts), kind)} that {verb} not complete at the"
            " provider (not download failures):"
        )
        for part in s.skipped_parts[:20]:
            reason = f", {part.reason}" if part.reason else ""
            lines.append(
                f"  job {part.job_id} {part.kind} {part.part_id}: the provider says"
                f" {part.state!r}{reason}"
            )
        if len(s.skipped_parts) > 20:
            lines.append(f"  ... and {len(s.skipped_parts) - 20} more")
    if s.outage_seconds:
        lines.append(f"waited {s.outage_seconds:.0f} s for hosts that had stopped answering")
    if s.retried_files:
        lines.append(f"{_count(s.retried_files, 'file')} needed a later pass")
    for failure in s.job_failures[:20]:
        lines.append(f"job {failure.job_id} failed: {failure.error}")
    if s.failures:
        lines.append(f"failed files ({len(s.failures)}):")
        for f in s.failures[:20]:
            lines.append(f"  {f.path}: {f.error}")
        if len(s.failures) > 20:
            lines.append(f"  ... and {len(s.failures) - 20} more (see manifest.jsonl)")
    if s.interrupted:
        lines.append("interrupted: run the same command again to resume")
    return "\n".join(lines)
