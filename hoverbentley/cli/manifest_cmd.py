"""``hoverbentley manifest merge OUT``: one compacted manifest and index from every part."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ..archive.merge import MergeReport, merge_local, merge_store
from ..stores import parse_location
from .report import print_result
from .settings import Handler, Output


def merge_text(r: MergeReport) -> str:
    """The human report of a merge: one line, after the shards' problems it was allowed."""
    failed = f" ({r.failed} failed)" if r.failed else ""
    problems = [*r.shard_problems, *(f"{line}: left out" for line in r.unreadable)]
    lines = [f"{problem} (allowed by --allow-partial)" for problem in problems]
    lines.append(
        f"merged {len(r.parts)} parts into {r.out}/manifest.jsonl: {r.files} files{failed}"
        f" from {r.lines} lines; {r.jobs} jobs in index.csv"
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class MergeCommand:
    """``manifest merge OUT``."""

    out: str
    allow_partial: bool
    output: Output


async def cmd_merge(s: MergeCommand) -> int:
    location = parse_location(s.out)
    if location.scheme != "file":
        result = await merge_store(s.out, allow_partial=s.allow_partial)
    else:
        result = merge_local(location.prefix, allow_partial=s.allow_partial)
    print_result(result, merge_text, as_json=s.output.json)
    return 0


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``manifest merge``."""
    manifest = subparsers.add_parser(
        "manifest",
        help="work on an archive's manifest (merge the parts of sharded runs)",
        description="Commands on OUT/manifest.jsonl and OUT/index.csv.",
    )
    actions = manifest.add_subparsers(dest="action", metavar="ACTION", required=True)
    merge = actions.add_parser(
        "merge",
        parents=[common],
        help="write one compacted manifest.jsonl and index.csv from every part",
        description="Read manifest.jsonl and every part under manifests/ (one per --shard K/N,"
        " and those of runs that did not finish), keep the newest line of each file, and"
        " replace manifest.jsonl with one line per file; merge index.csv with every part under"
        " indexes/ the same way. Each is written whole and then replaces the old one (a new"
        " object in a store, a rename in a directory), so a reader never sees a torn file. The"
        " parts are kept. In a local directory, an archive run writing there makes it fail at"
        " once, naming the run (exit 1)."
        " The shards' parts must be one per shard of one N (manifests/shard-K-of-N.jsonl): when"
        " one is missing or doubled, or the parts disagree on N, nothing is written and the"
        " error names them (unless --allow-partial); so too when a line is no manifest entry"
        " (damage; a line cut short by a killed run is not), which a merge would drop."
        " Exit status: 0 when merged, 1 when the archive cannot be read or written, a line is"
        " damaged or a shard's part is missing or doubled, 2 when OUT is not an archive.",
    )
    merge.add_argument(
        "out",
        metavar="OUT",
        help="archive directory, or s3://BUCKET/PREFIX, az://CONTAINER/PREFIX",
    )
    merge.add_argument(
        "--allow-partial",
        action="store_true",
        help="merge the parts there are when a shard's part is missing or doubled, or the parts"
        " disagree on the number of shards, and leave out the lines that are no manifest entry"
        " (otherwise nothing is written and the exit status is 1); the problems are still"
        " printed",
    )
    merge.add_argument("--json", action="store_true", help="print the report as JSON")
    merge.set_defaults(handler=Handler(MergeCommand, cmd_merge))
