"""``hoverbentley hover ...``: jobs, one job, and the bulk archive."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from ..archive import ArchiveOptions, archive, parse_include
from ..archive.hover_source import HoverSource
from ..archive.summary import ArchiveSummary
from ..auth import JsonFileTokenStore
from ..errors import ConfigurationError
from ..hover.client import DEFAULT_BASE_URL, DEFAULT_REQUESTS_PER_MINUTE, HoverClient
from .common import add_http_options, env, http_config, parse_since, positive_int
from .progress import make_reporter, summary_text

DEFAULT_TOKEN_FILE = "~/.config/hoverbentley/hover-token.json"  # noqa: S105 - a path


def add_credentials(parser: argparse.ArgumentParser) -> None:
    """Hover credentials and the current user, from flags or the environment."""
    group = parser.add_argument_group(
        "Hover credentials (flags override the environment; prefer the environment for secrets)"
    )
    group.add_argument("--token", default=env("HOVER_TOKEN"), help="bearer token (HOVER_TOKEN)")
    group.add_argument(
        "--client-id", default=env("HOVER_CLIENT_ID"), help="OAuth client id (HOVER_CLIENT_ID)"
    )
    group.add_argument(
        "--client-secret",
        default=env("HOVER_CLIENT_SECRET"),
        help="OAuth client secret (HOVER_CLIENT_SECRET)",
    )
    group.add_argument(
        "--refresh-token",
        default=env("HOVER_REFRESH_TOKEN"),
        help="OAuth refresh token, used once if the token file has none (HOVER_REFRESH_TOKEN)",
    )
    group.add_argument(
        "--token-file",
        default=env("HOVER_TOKEN_FILE") or DEFAULT_TOKEN_FILE,
        help="where rotating OAuth tokens are kept, mode 0600 (HOVER_TOKEN_FILE,"
        f" default {DEFAULT_TOKEN_FILE})",
    )
    group.add_argument(
        "--current-user-email",
        default=env("HOVER_CURRENT_USER_EMAIL"),
        help="Hover user the requests act for (HOVER_CURRENT_USER_EMAIL)",
    )
    group.add_argument(
        "--current-user-id",
        default=env("HOVER_CURRENT_USER_ID"),
        help="or that user's id (HOVER_CURRENT_USER_ID)",
    )
    group.add_argument(
        "--base-url",
        default=env("HOVER_BASE_URL") or DEFAULT_BASE_URL,
        help=f"API base URL (HOVER_BASE_URL, default {DEFAULT_BASE_URL})",
    )


def client_from_args(args: argparse.Namespace) -> HoverClient:
    """A :class:`HoverClient` from the credential and HTTP flags."""
    oauth = bool(args.client_id or args.client_secret)
    return HoverClient(
        token=None if oauth else args.token,
        client_id=args.client_id,
        client_secret=args.client_secret,
        refresh_token=args.refresh_token,
        token_store=JsonFileTokenStore(args.token_file) if oauth else None,
        current_user_email=args.current_user_email,
        current_user_id=args.current_user_id,
        base_url=args.base_url,
        http=http_config(args, requests_per_minute=DEFAULT_REQUESTS_PER_MINUTE),
    )


async def cmd_job(args: argparse.Namespace) -> int:
    async with client_from_args(args) as client:
        payload = await client.get_job_payload(args.job_id)
    if args.json:
        sys.stdout.buffer.write(payload.raw.rstrip() + b"\n")
        return 0
    job = payload.job
    print(f"job {job.id}: {job.name or ''} [{job.reconstruction_state}]")
    if job.address is not None:
        a = job.address
        print(f"  address: {a.location_line_1 or ''}, {a.city or ''} {a.region or ''}")
    listing = payload.files(all_models=True)
    for model in job.models:
        count = sum(1 for f in listing.files if f.model_id == model.id)
        print(f"  model {model.id} {model.name or ''} [{model.state}] {count} files")
    return 0


async def cmd_jobs(args: argparse.Namespace) -> int:
    shown = 0
    async with client_from_args(args) as client:
        async for job in client.iter_jobs(
            updated_since=args.since,
            archived=True if args.archived else None,
            search=args.search,
            states=args.state,
        ):
            if args.json:
                sys.stdout.buffer.write(msgspec.json.encode(job) + b"\n")
            else:
                print(
                    f"{job.id}\t{job.reconstruction_state or ''}\t{job.updated_at or ''}\t"
                    f"{job.name or ''}"
                )
            shown += 1
            if args.limit and shown >= args.limit:
                break
    return 0


async def cmd_archive(args: argparse.Namespace) -> int:
    if not args.job and not args.all:
        raise ConfigurationError("say which jobs: --job ID (repeatable) or --all")
    if args.job and args.all:
        raise ConfigurationError("--job and --all exclude each other")
    options = ArchiveOptions(
        concurrency=args.concurrency,
        per_host=args.per_host or args.concurrency,
        detail_concurrency=args.detail_concurrency,
        dry_run=args.dry_run,
    )
    async with client_from_args(args) as client:
        source = HoverSource(
            client,
            job_ids=args.job or None,
            updated_since=args.since,
            archived=args.archived,
            include=parse_include(args.include),
        )
        reporter = None if args.quiet else make_reporter()
        summary = await archive(source, Path(args.out), options, reporter=reporter)
    return report_summary(args, summary)


def report_summary(args: argparse.Namespace, summary: ArchiveSummary) -> int:
    """Print the summary (JSON with --json) and return the exit status."""
    if args.json:
        sys.stdout.buffer.write(msgspec.json.encode(summary) + b"\n")
    else:
        print(summary_text(summary))
    return 0 if summary.ok else 1


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``hover job``, ``hover jobs`` and ``hover archive``."""
    hover = subparsers.add_parser("hover", help="Hover (hover.to) jobs and files")
    commands = hover.add_subparsers(dest="hover_command", metavar="COMMAND", required=True)

    job = commands.add_parser("job", parents=[common], help="show one job")
    job.add_argument("job_id", type=int, metavar="ID")
    job.add_argument("--json", action="store_true", help="print the raw v3 payload")
    job.set_defaults(handler=cmd_job)

    jobs = commands.add_parser("jobs", parents=[common], help="list jobs")
    jobs.add_argument("--since", type=parse_since, help="only jobs updated since this date")
    jobs.add_argument("--archived", action="store_true", help="include archived jobs")
    jobs.add_argument("--search", help="text to search for (at least 3 characters)")
    jobs.add_argument("--state", action="append", help="reconstruction state (repeatable)")
    jobs.add_argument("--limit", type=positive_int, help="stop after N jobs")
    jobs.add_argument("--json", action="store_true", help="one JSON object per line")
    jobs.set_defaults(handler=cmd_jobs)

    arc = commands.add_parser(
        "archive",
        parents=[common],
        help="download every file of the selected jobs into OUT (resumable)",
        description="Download every artifact and image of the selected jobs into OUT, verified"
        " and resumable. Exit status: 0 when nothing failed, 1 when a file or job failed,"
        " 2 for usage errors, 130 when interrupted (run again to resume).",
    )
    arc.add_argument("out", metavar="OUT", help="archive directory")
    which = arc.add_argument_group("which jobs")
    which.add_argument(
        "--job", type=int, action="append", metavar="ID", help="a job id (repeatable)"
    )
    which.add_argument("--all", action="store_true", help="every job of the list")
    which.add_argument("--since", type=parse_since, help="with --all: jobs updated since DATE")
    which.add_argument("--archived", action="store_true", help="with --all: archived jobs too")
    arc.add_argument(
        "--include",
        metavar="KINDS",
        help="only these kinds, comma-separated: formats (pdf,json,xlsx,dwg,dxf,skp,xml,fml),"
        " images, or artifact keys (full_json, xml_v2, measurements, cad_exports)",
    )
    arc.add_argument(
        "--concurrency",
        type=positive_int,
        default=8,
        metavar="N",
        help="downloads at once (default 8)",
    )
    arc.add_argument(
        "--per-host",
        type=positive_int,
        default=None,
        metavar="N",
        help="downloads at once to one host (default: --concurrency)",
    )
    arc.add_argument(
        "--detail-concurrency",
        type=positive_int,
        default=4,
        metavar="N",
        help="job records fetched at once (default 4)",
    )
    arc.add_argument(
        "--dry-run", action="store_true", help="list and plan, print counts, download nothing"
    )
    arc.add_argument("--json", action="store_true", help="print the summary as JSON")
    arc.set_defaults(handler=cmd_archive)

    for parser in (job, jobs, arc):
        add_credentials(parser)
        add_http_options(parser)
