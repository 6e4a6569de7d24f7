"""``hoverbentley bentley ...``: list and show Reality Modeling jobs (v1 or v2), archive them;
iTwin webhooks."""

from __future__ import annotations

import argparse
import difflib
import logging
import sys
from dataclasses import dataclass
from datetime import datetime

from ..bentley.filters import F, raw
from ..bentley.models import OUTPUT_FORMATS
from ..errors import ConfigurationError
from .bentley_api import add_api_options, add_credentials, bentley_client
from .bentley_lifecycle import add_lifecycle_commands
from .bentley_views import describe, list_line, write_json
from .bentley_webhooks import add_webhook_commands
from .common import check_out
from .exits import ARCHIVE_EXIT_STATUS
from .files_from import FILES_FROM_HELP, bentley_job_id, read_job_ids
from .lastrun import SINCE_HELP, Incremental, since_or_last
from .options import add_archive_options, add_http_options
from .report import report_summary, run_archive
from .settings import (
    ArchiveRun,
    BentleyAccount,
    Handler,
    HttpSettings,
    Output,
    positive_int,
)

__all__ = ["add_commands", "bentley_client"]

logger = logging.getLogger("hoverbentley.cli")


@dataclass(frozen=True)
class BentleyJobsCommand:
    """``bentley jobs``: the filter, the page size and how many to list."""

    filter: str
    top: int | None
    limit: int | None
    account: BentleyAccount
    http: HttpSettings
    output: Output


@dataclass(frozen=True)
class BentleyJobCommand:
    """``bentley job ID``."""

    job_id: str
    account: BentleyAccount
    http: HttpSettings
    output: Output


@dataclass(frozen=True)
class BentleyArchiveCommand:
    """``bentley archive OUT``: which jobs and which of their outputs."""

    out: str
    filter: str | None
    files_from: str | None
    since: datetime | str | None
    top: int | None
    outputs: str | None
    records_only: bool
    account: BentleyAccount
    http: HttpSettings
    run: ArchiveRun
    output: Output


async def cmd_jobs(s: BentleyJobsCommand) -> int:
    shown = 0
    async with bentley_client(s.account, s.http) as client:
        async for job in client.iter_jobs(raw(s.filter), top=s.top):
            if s.output.json:
                write_json(job)
            else:
                print(list_line(job))
            shown += 1
            if s.limit and shown >= s.limit:
                break
    return 0


async def cmd_job(s: BentleyJobCommand) -> int:
    async with bentley_client(s.account, s.http) as client:
        record = await client.get_job_record(s.job_id)
    if s.output.json:
        sys.stdout.buffer.write(record.raw.rstrip() + b"\n")
    else:
        print("\n".join(describe(record.value)))
    return 0


def _job_ids(s: BentleyArchiveCommand) -> list[str] | None:
    """The jobs ``--files-from`` names (``None``: those ``--filter`` selects), checked."""
    if (s.filter is None) == (s.files_from is None):
        raise ConfigurationError("say which jobs: --filter EXPR or --files-from FILE (one)")
    if s.files_from is None:
        return None
    if s.since is not None:
        raise ConfigurationError("--since selects among listed jobs and works only with --filter")
    return read_job_ids(s.files_from, bentley_job_id)


async def cmd_archive(s: BentleyArchiveCommand) -> int:
    from ..archive.bentley_source import BentleySource
    from ..archive.unfinished import WatchUnfinished
    from ..bentley.reality import RealityManagementClient

    job_ids = _job_ids(s)
    marks = Incremental(
        s.out, s.since, _selection(s), quiet=s.output.quiet, dry_run=s.run.options.dry_run
    )
    out = check_out(s.out)
    outputs = _formats(s.outputs, s.account.api)
    wanted = None if s.filter is None else raw(s.filter)
    since = await marks.since()
    if since is not None and wanted is not None:
        wanted = wanted & F.created_date_time.gt(since)
    async with (
        bentley_client(s.account, s.http) as client,
        RealityManagementClient(
            base_url=s.account.reality_url, auth=client.auth, http=client.http
        ) as reality,
    ):
        bentley = BentleySource(
            client,
            wanted,
            top=s.top,
            reality=None if s.records_only else reality,
            outputs=outputs,
            job_ids=job_ids,
        )
        source = WatchUnfinished(bentley)
        summary = await run_archive(s.run, s.output, source, out)
    _warn_unmatched(*bentley.unmatched_outputs())
    await marks.finished(summary.ok, source.oldest)
    return report_summary(s.output, summary)


def _warn_unmatched(words: list[str], names: list[str]) -> None:
    """Say which ``--outputs`` words matched no output of the jobs seen: most likely a typo,
    which would otherwise end a run that archived nothing with success."""
    if words:
        logger.warning(
            "--outputs %s matched no output of the jobs archived; their outputs are: %s",
            ", ".join(map(repr, words)),
            ", ".join(names),
        )


def _selection(s: BentleyArchiveCommand) -> dict[str, object]:
    """What decides which files a run archives: the key of its ``--since last`` mark."""
    return {
        "provider": "bentley",
        "api": s.account.api,
        "service": s.account.service,
        "base_url": s.account.base_url.rstrip("/"),
        "filter": s.filter,
        "outputs": s.outputs,
        "records_only": bool(s.records_only),
    }


def _formats(text: str | None, api: str) -> frozenset[str] | None:
    """``--outputs`` as words; v1's are checked against its formats (v2's output names and
    export formats are an open set, compared as given)."""
    if text is None or text.strip().lower() == "all":
        return None
    formats = frozenset(f.strip() for f in text.split(",") if f.strip())
    if not formats:
        raise ConfigurationError("--outputs needs at least one format, or 'all'")
    if api == "v1":
        known = {f.casefold(): f for f in OUTPUT_FORMATS}
        for word in sorted(f for f in formats if f.casefold() not in known):
            close = difflib.get_close_matches(word.casefold(), known, n=1, cutoff=0.75)
            if close:  # a typo of a documented format
                raise ConfigurationError(
                    f"--outputs: unknown v1 output format {word!r}; did you mean"
                    f" {known[close[0]]!r}? The formats are: {', '.join(sorted(OUTPUT_FORMATS))},"
                    " or 'all'"
                )
            # Jobs report formats the API does not document ("Streamed Mesh (preview)").
            logger.warning(
                "--outputs %r is no v1 format the API documents: taken as given (the run"
                " says so if no job has it)",
                word,
            )
    return formats


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``bentley jobs | job | archive | create | cancel | wait | webhooks ...``."""
    bentley = subparsers.add_parser(
        "bentley",
        help="Bentley iTwin Reality Modeling jobs (API v1 or v2)",
        description="Bentley iTwin Reality Modeling: list the jobs an OData filter selects,"
        " show one, archive their records and output files, and create, cancel and wait for"
        " jobs. Every command takes --api v1 (the default, /contextcapture) or --api v2"
        " (/reality-modeling, a Technology Preview; --service analysis for Reality Analysis)."
        " 'webhooks' registers iTwin webhooks (Webhooks v2). Credentials come from flags or"
        " BENTLEY_* environment variables; see each command's --help.",
    )
    commands = bentley.add_subparsers(dest="bentley_command", metavar="COMMAND", required=True)
    filter_help = (
        'OData $filter, e.g. "iTwinId eq 3fa85f64-5717-4562-b3fc-2c963f66afa6 and'
        " state eq 'success'\" (properties id, iTwinId, name, email, type, state,"
        " createdDateTime, and in v1 only inputId and outputId; operators eq ne lt le gt ge"
        " and or, and in v1 only in)"
    )

    jobs = commands.add_parser("jobs", parents=[common], help="list the jobs a filter selects")
    jobs.add_argument("--filter", required=True, metavar="EXPR", help=filter_help)
    jobs.add_argument("--top", type=int, metavar="N", help="jobs per page, 1..1000 (default 100)")
    jobs.add_argument("--limit", type=positive_int, help="stop after N jobs")
    jobs.add_argument("--json", action="store_true", help="one JSON object per line")
    jobs.set_defaults(handler=Handler(BentleyJobsCommand, cmd_jobs))

    job = commands.add_parser("job", parents=[common], help="show one job")
    job.add_argument("job_id", metavar="ID", help="the job id (a UUID)")
    job.add_argument("--json", action="store_true", help="print the job as the API returns it")
    job.set_defaults(handler=Handler(BentleyJobCommand, cmd_job))

    arc = commands.add_parser(
        "archive",
        parents=[common],
        help="archive the records and output files of every job a filter selects into OUT",
        description="Save each selected job's record as OUT/bentley/<job id>/job.json and"
        " every file of its outputs (from reality data storage, or the iTwin's bucket for a v2"
        " bkt: output) under OUT/bentley/<job id>/outputs/<output location>/, verified and"
        f" resumable, with manifest.jsonl and index.csv as for Hover. {ARCHIVE_EXIT_STATUS}",
    )
    arc.add_argument(
        "out",
        metavar="OUT",
        help="archive directory, or s3://BUCKET/PREFIX or az://CONTAINER/PREFIX (credentials"
        " from AWS_* or AZURE_STORAGE_* variables; needs the objectstore extra)",
    )
    arc.add_argument("--filter", metavar="EXPR", help=filter_help + "; or --files-from")
    arc.add_argument("--files-from", metavar="FILE", help=FILES_FROM_HELP)
    arc.add_argument(
        "--since",
        type=since_or_last,
        metavar="DATE",
        help="only jobs created after DATE (a createdDateTime gt term and-ed with --filter):"
        f" {SINCE_HELP}",
    )
    arc.add_argument("--top", type=int, metavar="N", help="jobs per listing page, 1..1000")
    arc.add_argument(
        "--outputs",
        metavar="FORMATS",
        help="outputs to download, comma-separated as the service names them: v1 formats"
        " (e.g. 'Cesium 3D Tiles,OBJ,LAS'; a near miss of a documented one is refused, any"
        " other word taken with a warning), v2 output names or export formats (e.g."
        " 'scene,report,3DTiles'); default: all",
    )
    arc.add_argument(
        "--records-only", action="store_true", help="save the job records, no output files"
    )
    add_archive_options(arc)
    arc.set_defaults(handler=Handler(BentleyArchiveCommand, cmd_archive))

    for parser in (jobs, job, arc, *add_lifecycle_commands(commands, common)):
        add_api_options(parser)
        add_credentials(parser)
        add_http_options(parser)
    for parser in add_webhook_commands(commands, common):
        add_credentials(parser, reality=False)
        add_http_options(parser)
