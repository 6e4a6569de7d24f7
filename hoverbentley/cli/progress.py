"""Progress display and the human summary of an archive run."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TextIO

import anyio

from ..archive.summary import ArchiveSummary, Progress
from .logs import stamp

#: Every size and rate the command line prints is in IEC binary units (1 KiB = 1024 bytes),
#: the units ``--bwlimit`` and ``--max-transfer`` read.
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_bytes(n: float) -> str:
    """``1.5 MiB`` style sizes (powers of 1024, IEC names)."""
    for unit in _UNITS:
        if abs(n) < 1024 or unit == _UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} {_UNITS[-1]}"  # pragma: no cover


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def limits_text(
    bandwidth_limit: float | None, max_transfer: int | None, max_duration: float | None
) -> str:
    """The run's limits in the units of progress and the summary (``no limits``: none set)."""
    parts = []
    if bandwidth_limit:
        parts.append(f"bandwidth limit {human_bytes(bandwidth_limit)}/s")
    if max_transfer is not None:
        parts.append(f"stops after {human_bytes(max_transfer)} received")
    if max_duration is not None:
        parts.append(f"stops after {_duration(max_duration)}")
    return ", ".join(parts) or "no limits"


class RateWindow:
    """The current rate: bytes a second over the last ``span`` seconds (not since the start),
    so it falls to 0 when bytes stop arriving (an outage) and rises again when they resume."""

    def __init__(self, span: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.span = span
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()

    def rate(self, total: int) -> float:
        """Note that ``total`` bytes have arrived by now; the rate over the window."""
        now = self._clock()
        samples = self._samples
        samples.append((now, total))
        # Keep one sample at or before the window's start: the rate spans the whole window.
        while len(samples) > 1 and samples[1][0] <= now - self.span:
            samples.popleft()
        then, before = samples[0]
        return (total - before) / (now - then) if now > then else 0.0


@dataclass(frozen=True)
class Estimate:
    """How far a run is: ``planning`` until every file to fetch is known; then the share of
    bytes done (``percent``) and the seconds left at the current rate (``eta``; ``None``
    when nothing arrives now, or nothing tells the size)."""

    planning: bool
    percent: float | None = None
    eta: float | None = None


def estimate(p: Progress, rate: float) -> Estimate:
    """Where ``p`` stands, from bytes: what is still to come (:meth:`Progress.bytes_left`)
    against what arrived, at ``rate``. While files are left, it never says done: a file whose
    size was not given may be bigger than the mean."""
    if not p.plan_complete:
        return Estimate(planning=True)
    left = p.bytes_left()
    if left is None:
        return Estimate(planning=False)
    remaining = p.files - p.finished_files
    whole = p.transferred + left
    percent = 100.0 if whole <= 0 else 100.0 * p.transferred / whole
    if remaining > 0 and left <= 0:
        return Estimate(planning=False, percent=min(percent, 99.0))
    eta = left / rate if rate > 0 else (0.0 if left <= 0 else None)
    return Estimate(planning=False, percent=percent, eta=eta)


def _where(e: Estimate) -> str:
    if e.planning:
        return "planning"
    percent = "" if e.percent is None else f"{e.percent:.0f}% "
    return percent + ("ETA unknown" if e.eta is None else f"ETA {_duration(e.eta)}")


def progress_line(p: Progress, rate: float, width: int | None = None) -> str:
    """One line: jobs, files, files in flight, bytes at the current ``rate``, percent and ETA
    (``planning`` while jobs are still being planned), and the hosts waited for; at most
    ``width - 1`` characters if given.

    A narrow terminal gets a compact line, cut if even that does not fit: a line that wraps
    cannot be redrawn in place.
    """
    jobs = f"jobs {p.jobs_planned}/{p.jobs}" + ("" if p.listing_done else "+")
    speed = f"{human_bytes(rate)}/s"
    files = f"files {p.finished_files}/{p.files}"
    where = _where(estimate(p, rate))
    waiting = [f"waiting for {host} (down {down:.0f} s)" for host, down in p.waiting_for().items()]
    waiting += [
        f"waiting for a response from {host} ({waited:.0f} s)"
        for host, waited in p.awaiting_response().items()
    ]
    line = " | ".join(
        [
            jobs,
            f"{files} ({p.downloaded} new, {p.skipped} skipped, {p.failed} failed)",
            f"{p.in_flight} in flight",
            f"{human_bytes(p.transferred)} at {speed}",
            where,
            *waiting,
        ]
    )
    if width is None or len(line) < width:
        return line
    failed = f" ({p.failed} failed)" if p.failed else ""
    line = " | ".join(
        [f"{files}{failed}", *waiting, f"{human_bytes(p.transferred)} {speed}", where, jobs]
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

    On a terminal one line, fitted to its width, is redrawn twice a second; elsewhere a line
    starting with its time (:func:`.logs.stamp`) is written every ten seconds. ``interval``
    changes either.
    """
    out = stream or sys.stderr
    tty = out.isatty()
    every = interval if interval is not None else (0.5 if tty else 10.0)

    async def report(progress: Progress) -> None:
        window = RateWindow()
        window.rate(progress.transferred)  # the first line's rate spans its first interval
        try:
            while True:
                await anyio.sleep(every)
                rate = window.rate(progress.transferred)
                if tty:
                    # Return, draw, clear what a longer previous line left: never a new row.
                    line = progress_line(progress, rate, terminal_width(out))
                    out.write("\r" + line + "\x1b[K")
                else:
                    out.write(f"{stamp()} {progress_line(progress, rate)}\n")
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
        fetch = "size unknown" if s.fetch_bytes is None else human_bytes(s.fetch_bytes)
        lines.append(
            f"would fetch {_count(s.to_fetch, 'file')} ({fetch}); already there:"
            f" {_count(s.skipped, 'file')} ({human_bytes(s.skipped_bytes)})"
        )
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
    if s.stopped is not None:
        flag = "--" + s.stopped.replace("_", "-")
        lines.append(f"stopped: the {flag} limit was reached; run the same command again to resume")
    elif s.interrupted:
        lines.append("interrupted: run the same command again to resume")
    return "\n".join(lines)
