"""``hoverbentley verify OUT``: hash every archived file again and compare with the manifest.

The work is :func:`hoverbentley.archive.verify.verify_archive`'s; this prints its report and
picks the exit status.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from ..archive.verify import VerifyProgress, VerifyReport, verify_archive
from .progress import human_bytes, terminal_width
from .report import print_result
from .settings import Handler, Output, worker_count


class _Counter:
    """``verify: 12/340 files, 1.2 GB`` redrawn on a terminal; silent elsewhere."""

    def __init__(self, show: bool) -> None:
        self.show = show and sys.stderr.isatty()
        self.drawn = False

    def __call__(self, progress: VerifyProgress) -> None:
        if self.show:
            width = terminal_width(sys.stderr)
            line = f"verify: {progress.done}/{progress.total} files, {human_bytes(progress.bytes)}"
            sys.stderr.write("\r" + line[: max(width - 1, 0)] + "\x1b[K")
            sys.stderr.flush()
            self.drawn = True

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def report_text(r: VerifyReport) -> str:
    """The human report: one line per problem, then the counts."""
    allowed = " (allowed by --allow-partial)" if r.allow_partial else ""
    lines = [f"{problem}{allowed}" for problem in r.shard_problems]
    lines += [f"damaged: {line}" for line in r.unreadable]
    lines += [f"missing: {p}" for p in r.missing]
    for c in r.changed:
        lines.append(
            f"changed: {c.path} (sha256 {c.actual_sha256[:12]}..., {c.actual_size} bytes;"
            f" recorded {(c.expected_sha256 or '?')[:12]}..., {c.expected_size} bytes)"
        )
    lines += [f"extra: {p}" for p in r.extra]
    lines += [f"failed in the last run: {p}" for p in r.failed]
    lines.append(
        f"{r.verified} of {r.files} files verified ({human_bytes(r.bytes)}): {len(r.missing)}"
        f" missing, {len(r.changed)} changed, {len(r.extra)} extra, {len(r.failed)} failed"
    )
    if r.partial:
        lines.append(
            f"{len(r.partial)} partial downloads of an interrupted run: run the archive"
            " command again to finish them"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class VerifyCommand:
    """``verify OUT``."""

    out: str
    concurrency: int
    allow_partial: bool
    output: Output


async def cmd_verify(s: VerifyCommand) -> int:
    counter = _Counter(show=s.output.progress)
    try:
        report = await verify_archive(
            s.out,
            workers=s.concurrency,
            progress=counter,
            allow_partial=s.allow_partial,
        )
    finally:
        counter.close()
    print_result(report, report_text, as_json=s.output.json)
    return 0 if report.ok else 1


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``verify``."""
    parser = subparsers.add_parser(
        "verify",
        parents=[common],
        help="hash every archived file again and compare with the manifest",
        description="Read OUT/manifest.jsonl and the parts under manifests/ (the newest line"
        " per file across them), hash every file they record as complete, and report files"
        " missing, changed (other sha256 or size) and extra (on disk, not in the manifest)."
        " The manifest parts of sharded runs"
        " (manifests/shard-K-of-N.jsonl) must be one per shard of one N: a shard's part"
        " missing or doubled is reported by name, and so is a manifest line that is no entry"
        " (damage; a line cut short by a killed run is not). Nothing is written. Exit status:"
        " 0 when clean, 1 when anything is missing, changed, extra, failed in the last run or"
        " damaged, or a shard's part is missing or doubled (unless --allow-partial), 2 for"
        " usage errors.",
    )
    parser.add_argument(
        "out", metavar="OUT", help="archive directory, or s3://BUCKET/PREFIX, az://CONTAINER/PREFIX"
    )
    parser.add_argument(
        "--concurrency",
        type=worker_count,
        default=4,
        metavar="N",
        help="files hashed at once (default 4)",
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="report a shard's manifest part that is missing or doubled, or parts that disagree"
        " on the number of shards, without failing for it (exit status 1 otherwise): to check"
        " the shards that ran while others are still to run",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=Handler(VerifyCommand, cmd_verify))
