"""``hoverbentley bentley ...``: list and show Reality Modeling jobs, archive their records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from ..archive import ArchiveOptions, archive
from ..archive.bentley_source import BentleySource
from ..cli.common import add_http_options, env, http_config, positive_int
from ..cli.hover import report_summary
from ..cli.progress import make_reporter
from ..errors import ConfigurationError
from .auth import IMS_TOKEN_URL
from .client import DEFAULT_BASE_URL, RealityModelingClient
from .filters import raw
from .reality import DEFAULT_BASE_URL as REALITY_BASE_URL
from .reality import RealityManagementClient

#: Bentley's Community tier allows 500 requests a minute; stay below it by default.
DEFAULT_REQUESTS_PER_MINUTE = 450.0


def add_credentials(parser: argparse.ArgumentParser) -> None:
    """Bentley credentials, from flags or the environment."""
    group = parser.add_argument_group(
        "Bentley credentials (flags override the environment; prefer the environment for secrets)"
    )
    group.add_argument("--token", default=env("BENTLEY_TOKEN"), help="bearer token (BENTLEY_TOKEN)")
    group.add_argument(
        "--client-id",
        default=env("BENTLEY_CLIENT_ID"),
        help="service application client id (BENTLEY_CLIENT_ID)",
    )
    group.add_argument(
        "--client-secret",
        default=env("BENTLEY_CLIENT_SECRET"),
        help="service application secret (BENTLEY_CLIENT_SECRET)",
    )
    group.add_argument(
        "--token-url",
        default=env("BENTLEY_TOKEN_URL") or IMS_TOKEN_URL,
        help=f"IMS token endpoint (BENTLEY_TOKEN_URL, default {IMS_TOKEN_URL})",
    )
    group.add_argument(
        "--base-url",
        default=env("BENTLEY_BASE_URL") or DEFAULT_BASE_URL,
        help=f"Reality Modeling base URL (BENTLEY_BASE_URL, default {DEFAULT_BASE_URL})",
    )
    group.add_argument(
        "--reality-url",
        default=env("BENTLEY_REALITY_URL") or REALITY_BASE_URL,
        help="Reality Management base URL, where job outputs are stored"
        f" (BENTLEY_REALITY_URL, default {REALITY_BASE_URL})",
    )


def client_from_args(args: argparse.Namespace) -> RealityModelingClient:
    """A :class:`RealityModelingClient` from the credential and HTTP flags."""
    service = bool(args.client_id or args.client_secret)
    return RealityModelingClient(
        token=None if service else args.token,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_url=args.token_url,
        base_url=args.base_url,
        http=http_config(args, requests_per_minute=DEFAULT_REQUESTS_PER_MINUTE),
    )


async def cmd_jobs(args: argparse.Namespace) -> int:
    shown = 0
    async with client_from_args(args) as client:
        async for job in client.iter_jobs(raw(args.filter), top=args.top):
            if args.json:
                sys.stdout.buffer.write(msgspec.json.encode(job) + b"\n")
            else:
                print(f"{job.id}\t{job.state}\t{job.type}\t{job.created_date_time}\t{job.name}")
            shown += 1
            if args.limit and shown >= args.limit:
                break
    return 0


async def cmd_job(args: argparse.Namespace) -> int:
    async with client_from_args(args) as client:
        job, body = await client.get_job_raw(args.job_id)
    if args.json:
        sys.stdout.buffer.write(body.rstrip() + b"\n")
        return 0
    print(f"job {job.id}: {job.name} [{job.state}] {job.type}")
    print(f"  iTwin {job.i_twin_id or '-'}  workspace {job.workspace_id}")
    print(f"  created {job.created_date_time}  modified {job.last_modified_date_time}")
    settings = job.job_settings
    for output in (settings.outputs or []) if settings else []:
        print(f"  output {output.format}: {output.id or 'not produced'}")
    return 0


async def cmd_archive(args: argparse.Namespace) -> int:
    options = ArchiveOptions(
        concurrency=args.concurrency,
        per_host=args.concurrency,
        detail_concurrency=args.detail_concurrency,
        dry_run=args.dry_run,
    )
    outputs = _formats(args.outputs)
    async with (
        client_from_args(args) as client,
        RealityManagementClient(
            base_url=args.reality_url, auth=client.auth, http=client.http
        ) as reality,
    ):
        source = BentleySource(
            client,
            raw(args.filter),
            top=args.top,
            reality=None if args.records_only else reality,
            outputs=outputs,
        )
        reporter = None if args.quiet or args.json else make_reporter()
        summary = await archive(source, Path(args.out), options, reporter=reporter)
    return report_summary(args, summary)


def _formats(text: str | None) -> frozenset[str] | None:
    if text is None or text.strip().lower() == "all":
        return None
    formats = frozenset(f.strip() for f in text.split(",") if f.strip())
    if not formats:
        raise ConfigurationError("--outputs needs at least one format, or 'all'")
    return formats


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``bentley jobs``, ``bentley job`` and ``bentley archive``."""
    bentley = subparsers.add_parser("bentley", help="Bentley iTwin Reality Modeling jobs")
    commands = bentley.add_subparsers(dest="bentley_command", metavar="COMMAND", required=True)
    filter_help = (
        'OData $filter, e.g. "iTwinId eq 3fa85f64-5717-4562-b3fc-2c963f66afa6 and'
        " state eq 'success'\" (properties id, iTwinId, name, email, type, state,"
        " createdDateTime, inputId, outputId; operators eq ne lt le gt ge in and or)"
    )

    jobs = commands.add_parser("jobs", parents=[common], help="list the jobs a filter selects")
    jobs.add_argument("--filter", required=True, metavar="EXPR", help=filter_help)
    jobs.add_argument("--top", type=int, metavar="N", help="jobs per page, 1..1000 (default 100)")
    jobs.add_argument("--limit", type=positive_int, help="stop after N jobs")
    jobs.add_argument("--json", action="store_true", help="one JSON object per line")
    jobs.set_defaults(handler=cmd_jobs)

    job = commands.add_parser("job", parents=[common], help="show one job")
    job.add_argument("job_id", metavar="ID")
    job.add_argument("--json", action="store_true", help="print the job as the API returns it")
    job.set_defaults(handler=cmd_job)

    arc = commands.add_parser(
        "archive",
        parents=[common],
        help="archive the records and output files of every job a filter selects into OUT",
        description="Save each selected job's record as OUT/bentley/<job id>/job.json and"
        " every file of its outputs (from reality data storage) under"
        " OUT/bentley/<job id>/outputs/<reality data id>/, verified and resumable, with"
        " manifest.jsonl and index.csv as for Hover. Exit status: 0 when nothing failed,"
        " 1 when a file or job failed, 2 for usage errors, 130 when interrupted.",
    )
    arc.add_argument("out", metavar="OUT", help="archive directory")
    arc.add_argument("--filter", required=True, metavar="EXPR", help=filter_help)
    arc.add_argument("--top", type=int, metavar="N", help="jobs per listing page, 1..1000")
    arc.add_argument(
        "--outputs",
        metavar="FORMATS",
        help="output formats to download, comma-separated as the service names them"
        " (e.g. 'Cesium 3D Tiles,OBJ,LAS'); default: all",
    )
    arc.add_argument(
        "--records-only", action="store_true", help="save the job records, no output files"
    )
    arc.add_argument(
        "--concurrency", type=positive_int, default=8, metavar="N", help="downloads at once"
    )
    arc.add_argument(
        "--detail-concurrency",
        type=positive_int,
        default=4,
        metavar="N",
        help="job records fetched at once (default 4)",
    )
    arc.add_argument("--dry-run", action="store_true", help="list and plan, save nothing")
    arc.add_argument("--json", action="store_true", help="print the summary as JSON")
    arc.set_defaults(handler=cmd_archive)

    for parser in (jobs, job, arc):
        add_credentials(parser)
        add_http_options(parser)
