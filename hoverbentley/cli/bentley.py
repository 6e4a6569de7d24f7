"""``hoverbentley bentley ...``: list and show Reality Modeling jobs, archive their records."""

from __future__ import annotations

import argparse
import sys

import msgspec

from ..archive.bentley_source import BentleySource
from ..bentley.auth import IMS_TOKEN_URL
from ..bentley.client import DEFAULT_BASE_URL, RealityModelingClient
from ..bentley.filters import raw
from ..bentley.reality import DEFAULT_BASE_URL as REALITY_BASE_URL
from ..bentley.reality import RealityManagementClient
from ..errors import ConfigurationError
from .common import add_credential_options, check_out, positive_int
from .options import add_archive_options, add_http_options, http_config
from .report import report_summary, run_archive


def add_credentials(parser: argparse.ArgumentParser) -> None:
    """Bentley credentials, from flags or the environment."""
    add_credential_options(
        parser,
        "Bentley",
        (
            ("--token", "BENTLEY_TOKEN", "bearer token", None),
            ("--client-id", "BENTLEY_CLIENT_ID", "service application client id", None),
            ("--client-secret", "BENTLEY_CLIENT_SECRET", "service application secret", None),
            ("--token-url", "BENTLEY_TOKEN_URL", "IMS token endpoint", IMS_TOKEN_URL),
            ("--base-url", "BENTLEY_BASE_URL", "Reality Modeling base URL", DEFAULT_BASE_URL),
            (
                "--reality-url",
                "BENTLEY_REALITY_URL",
                "Reality Management base URL, where job outputs are stored",
                REALITY_BASE_URL,
            ),
        ),
    )


def client_from_args(args: argparse.Namespace) -> RealityModelingClient:
    """A :class:`RealityModelingClient` from the credential and HTTP flags."""
    service = bool(args.client_id or args.client_secret)
    if not service and not args.token:
        raise ConfigurationError(
            "Bentley credentials missing: pass --token or set BENTLEY_TOKEN, or --client-id"
            " and --client-secret (BENTLEY_CLIENT_ID, BENTLEY_CLIENT_SECRET)"
        )
    return RealityModelingClient(
        token=None if service else args.token,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_url=args.token_url,
        base_url=args.base_url,
        http=http_config(args, RealityModelingClient.default_requests_per_minute),
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
    out = check_out(args.out)
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
        summary = await run_archive(args, source, out)
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
    bentley = subparsers.add_parser(
        "bentley",
        help="Bentley iTwin Reality Modeling jobs",
        description="Bentley iTwin Reality Modeling: list the jobs an OData filter selects,"
        " show one, and archive their records and output files. Credentials come from flags"
        " or BENTLEY_* environment variables; see each command's --help.",
    )
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
    job.add_argument("job_id", metavar="ID", help="the Reality Modeling job id (a UUID)")
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
        " 1 when a file or job failed, 2 for usage errors, 130 when interrupted (143 on"
        " SIGTERM).",
    )
    arc.add_argument(
        "out",
        metavar="OUT",
        help="archive directory, or s3://BUCKET/PREFIX or az://CONTAINER/PREFIX (credentials"
        " from AWS_* or AZURE_STORAGE_* variables; needs the objectstore extra)",
    )
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
    add_archive_options(arc)
    arc.set_defaults(handler=cmd_archive)

    for parser in (jobs, job, arc):
        add_credentials(parser)
        add_http_options(parser)
