"""``hoverbentley hover takeoff OUT``: the takeoff table of an archive, as CSV or JSON Lines.

The work is :mod:`hoverbentley.archive.takeoff`'s; this writes its rows, lists the skipped
models and the documents that do not parse on stderr, and picks the exit status.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from .._io.atomic import write_output
from ..archive.takeoff import TakeoffTable, read_takeoff, takeoff_csv, takeoff_jsonl
from .common import print_err
from .settings import Handler, Output


@dataclass(frozen=True)
class TakeoffCommand:
    """``hover takeoff OUT``."""

    out: str
    format: str
    output_file: str | None
    output: Output


def report_problems(table: TakeoffTable, *, quiet: bool) -> None:
    """The skipped models (unless ``quiet``) and the documents that do not parse, on stderr."""
    if not quiet:
        for skipped in table.skipped:
            print_err(f"skipped: job {skipped.job_id} model {skipped.model_id}: {skipped.reason}")
    for broken in table.broken:
        print_err(f"error: {broken.path}: {broken.problem}")


async def cmd_takeoff(s: TakeoffCommand) -> int:
    table = await read_takeoff(s.out)
    body = takeoff_jsonl(table.rows) if s.format == "jsonl" else takeoff_csv(table.rows)
    if s.output_file is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        write_output(Path(s.output_file), body)
    report_problems(table, quiet=s.output.quiet)
    return 0 if table.ok else 1


def add_takeoff_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``hover takeoff``."""
    parser = commands.add_parser(
        "takeoff",
        parents=[common],
        help="one row of roof, line, siding and opening figures per model of an archive",
        description="Read the measurement documents of every Hover model in the archive OUT"
        " (summarized_json if archived, else json, else full_json) and write one row per"
        " model: job id, model id, address (from index.csv), deliverable, the document used,"
        " roof area and squares, predominant pitch and the pitch breakdown, the waste table,"
        " line lengths (ridges and hips, valleys, rakes, eaves, drip edge, flashing, step"
        " flashing), siding and opening totals, window count. Areas in square feet, lengths"
        " in linear feet; an empty cell where the document has no figure. Models without a"
        " document are listed on stderr as skipped, with the reason. Exit status: 0, 1 when a"
        " document does not parse (its path and first problem on stderr; the other rows are"
        " written), 2 for usage errors and when OUT is not an archive.",
    )
    parser.add_argument(
        "out", metavar="OUT", help="archive directory, or s3://BUCKET/PREFIX, az://CONTAINER/PREFIX"
    )
    parser.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        default="csv",
        help="csv (default; one header line) or jsonl (one JSON object per model, the whole"
        " takeoff nested)",
    )
    parser.add_argument(
        "--output",
        dest="output_file",
        metavar="FILE",
        help="write to FILE instead of stdout: whole, then renamed into place (through a"
        " symbolic link, onto the file it names); a device or a pipe is written into",
    )
    parser.set_defaults(handler=Handler(TakeoffCommand, cmd_takeoff))
