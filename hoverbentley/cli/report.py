"""Running an archive from the command line: progress while it runs, the summary at the end."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import msgspec

from ..archive import ArchiveSource, ArchiveSummary, archive
from .options import archive_options, wants_progress
from .progress import make_reporter, summary_text

logger = logging.getLogger("hoverbentley.cli")
T = TypeVar("T")


async def run_archive(args: argparse.Namespace, source: ArchiveSource, out: Path) -> ArchiveSummary:
    """Archive ``source`` into ``out`` as the shared archive flags say."""
    reporter = make_reporter() if wants_progress(args) else None
    return await archive(source, out, archive_options(args), reporter=reporter)


def report_summary(args: argparse.Namespace, summary: ArchiveSummary) -> int:
    """Print the summary (JSON on stdout with --json) and return the exit status."""
    logger.info("archive finished", extra={"summary": msgspec.to_builtins(summary)})
    print_result(summary, summary_text, as_json=args.json)
    return 0 if summary.ok else 1


def print_result(result: T, text: Callable[[T], str], *, as_json: bool) -> None:
    """``result`` as one JSON line on stdout, or its human ``text``."""
    if as_json:
        sys.stdout.buffer.write(msgspec.json.encode(result) + b"\n")
        sys.stdout.flush()
    else:
        print(text(result))
