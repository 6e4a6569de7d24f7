"""``hoverbentley hover ...``: jobs, one job, the bulk archive, and webhooks."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from .._core.text import printable
from .._core.times import as_utc_text
from ..archive import parse_include
from ..archive.index import TAKEOFF_NAME
from ..archive.takeoff import write_takeoff
from ..errors import ConfigurationError
from ..hover.select import parse_exclude
from .common import SINCE_FORMATS, check_out, hover_job_id, parse_since, print_err
from .exits import ARCHIVE_EXIT_STATUS
from .files_from import FILES_FROM_HELP, read_job_ids
from .hover_api import add_credentials, hover_client
from .hover_webhooks import add_webhook_commands
from .lastrun import SINCE_HELP, Incremental, since_or_last
from .options import add_archive_options, add_http_options
from .report import report_summary, run_archive
from .settings import ArchiveRun, Handler, HoverAccount, HttpSettings, Output, positive_int
from .takeoff import add_takeoff_command, report_problems

__all__ = ["add_commands", "hover_client"]


@dataclass(frozen=True)
class HoverJobCommand:
    """``hover job ID``."""

    job_id: int
    account: HoverAccount
    http: HttpSettings
    output: Output


@dataclass(frozen=True)
class HoverJobsCommand:
    """``hover jobs``: which jobs to list, and how many."""

    since: datetime | None
    archived: bool
    search: str | None
    state: list[str] | None
    limit: int | None
    account: HoverAccount
    http: HttpSettings
    output: Output


@dataclass(frozen=True)
class HoverArchiveCommand:
    """``hover archive OUT``: which jobs and which of their files."""

    out: str
    job: list[int] | None
    files_from: str | None
    all: bool
    since: datetime | str | None
    archived: bool
    include: str | None
    exclude: str | None
    takeoff: bool
    account: HoverAccount
    http: HttpSettings
    run: ArchiveRun
    output: Output


async def cmd_job(s: HoverJobCommand) -> int:
    async with hover_client(s.account, s.http) as client:
        record = await client.get_job_record(s.job_id)
    if s.output.json:
        sys.stdout.buffer.write(record.raw.rstrip() + b"\n")
        return 0
    job = record.job
    lines = [f"job {job.id}: {job.name or ''} [{job.reconstruction_state}]"]
    if job.address is not None:
        a = job.address
        lines.append(f"  address: {a.location_line_1 or ''}, {a.city or ''} {a.region or ''}")
    listing = record.files(all_models=True)
    for model in job.models:
        count = sum(1 for f in listing.files if f.model_id == model.id)
        lines.append(f"  model {model.id} {model.name or ''} [{model.state}] {count} files")
    for line in lines:
        print(printable(line))
    return 0


async def cmd_jobs(s: HoverJobsCommand) -> int:
    shown = 0
    async with hover_client(s.account, s.http) as client:
        async for job in client.iter_jobs(
            updated_since=s.since,
            archived=True if s.archived else None,
            search=s.search,
            states=s.state,
        ):
            if s.output.json:
                sys.stdout.buffer.write(msgspec.json.encode(job) + b"\n")
            else:
                cells = (job.id, job.reconstruction_state, as_utc_text(job.updated_at), job.name)
                print("\t".join(printable(str(c or "")) for c in cells))
            shown += 1
            if s.limit and shown >= s.limit:
                break
    return 0


def _job_ids(s: HoverArchiveCommand) -> list[int] | None:
    """The jobs ``--job`` and ``--files-from`` name (``None``: ``--all``), checked."""
    named = bool(s.job or s.files_from)
    if not named and not s.all:
        raise ConfigurationError(
            "say which jobs: --job ID (repeatable), --files-from FILE or --all"
        )
    if named and s.all:
        raise ConfigurationError("--job and --files-from exclude --all")
    if not named:
        return None
    for flag, given in (("--since", s.since is not None), ("--archived", s.archived)):
        if given:
            raise ConfigurationError(
                f"{flag} selects among listed jobs and works only with --all, not with --job"
                " or --files-from"
            )
    listed = read_job_ids(s.files_from, hover_job_id) if s.files_from else []
    return list(dict.fromkeys([*(s.job or []), *listed]))


async def cmd_archive(s: HoverArchiveCommand) -> int:
    from ..archive.hover_source import HoverSource

    job_ids = _job_ids(s)
    marks = Incremental(
        s.out,
        s.since,
        _selection(s),
        whole=s.all,
        quiet=s.output.quiet,
        dry_run=s.run.options.dry_run,
    )
    out = check_out(s.out)
    async with hover_client(s.account, s.http) as client:
        source = HoverSource(
            client,
            job_ids=job_ids,
            updated_since=await marks.since(),
            archived=s.archived,
            include=parse_include(s.include),
            exclude=parse_exclude(s.exclude),
        )
        summary = await run_archive(s.run, s.output, source, out)
    await marks.finished(summary.ok)
    status = report_summary(s.output, summary)
    if s.takeoff and not s.run.options.dry_run:
        table = await write_takeoff(str(out))
        report_problems(table, quiet=True)
        if not s.output.quiet:
            print_err(f"takeoff: {len(table.rows)} models in {TAKEOFF_NAME}")
        status = status or (0 if table.ok else 1)
    return status


def _selection(s: HoverArchiveCommand) -> dict[str, object]:
    """What decides which files a run archives: the key of its ``--since last`` mark."""
    return {
        "provider": "hover",
        "base_url": s.account.base_url.rstrip("/"),
        "user": s.account.current_user_email or s.account.current_user_id,
        "archived": bool(s.archived),
        "include": s.include,
        "exclude": s.exclude,
    }


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``hover job``, ``hover jobs``, ``hover archive``, ``hover takeoff`` and
    ``hover webhooks ...``."""
    hover = subparsers.add_parser(
        "hover",
        help="Hover (hover.to) jobs and files",
        description="Hover (hover.to) through its v3 API: list jobs, show one, and archive"
        " every file of the jobs you select; register the organisation's webhooks."
        " Credentials come from flags or HOVER_* environment variables; see each command's"
        " --help.",
    )
    commands = hover.add_subparsers(dest="hover_command", metavar="COMMAND", required=True)
    since_help = f"only jobs updated since DATE: {SINCE_FORMATS}"

    job = commands.add_parser("job", parents=[common], help="show one job")
    job.add_argument("job_id", type=hover_job_id, metavar="ID", help="the Hover job id (a number)")
    job.add_argument("--json", action="store_true", help="print the raw v3 payload")
    job.set_defaults(handler=Handler(HoverJobCommand, cmd_job))

    jobs = commands.add_parser("jobs", parents=[common], help="list jobs")
    jobs.add_argument("--since", type=parse_since, metavar="DATE", help=since_help)
    jobs.add_argument("--archived", action="store_true", help="include archived jobs")
    jobs.add_argument("--search", help="text to search for (at least 3 characters)")
    jobs.add_argument("--state", action="append", help="reconstruction state (repeatable)")
    jobs.add_argument("--limit", type=positive_int, help="stop after N jobs")
    jobs.add_argument("--json", action="store_true", help="one JSON object per line")
    jobs.set_defaults(handler=Handler(HoverJobsCommand, cmd_jobs))

    arc = commands.add_parser(
        "archive",
        parents=[common],
        help="download every file of the selected jobs into OUT (resumable)",
        description="Download every artifact and image of the selected jobs into OUT, verified"
        f" and resumable. {ARCHIVE_EXIT_STATUS}",
    )
    arc.add_argument(
        "out",
        metavar="OUT",
        help="archive directory, or s3://BUCKET/PREFIX or az://CONTAINER/PREFIX (credentials"
        " from AWS_* or AZURE_STORAGE_* variables; needs the objectstore extra)",
    )
    which = arc.add_argument_group("which jobs")
    which.add_argument(
        "--job", type=hover_job_id, action="append", metavar="ID", help="a job id (repeatable)"
    )
    which.add_argument("--files-from", metavar="FILE", help=FILES_FROM_HELP)
    which.add_argument("--all", action="store_true", help="every job of the list")
    which.add_argument(
        "--since",
        type=since_or_last,
        metavar="DATE",
        help=f"with --all: only jobs updated since DATE: {SINCE_HELP}",
    )
    which.add_argument("--archived", action="store_true", help="with --all: archived jobs too")
    arc.add_argument(
        "--include",
        metavar="KINDS",
        action=_Commas,
        help="only these kinds, comma-separated: formats (pdf,json,xlsx,dwg,dxf,skp,xml,fml),"
        " images, or artifact keys (full_json, xml_v2, measurements, cad_exports);"
        " glob patterns such as 'cad_exports.*' too; repeated, the kinds add up",
    )
    arc.add_argument(
        "--exclude",
        metavar="KINDS",
        action=_Commas,
        help="leave these out, in the same words as --include (applied after it); repeated,"
        " the kinds add up",
    )
    arc.add_argument(
        "--takeoff",
        action="store_true",
        help=f"at the end, write OUT/{TAKEOFF_NAME}: one row of figures per model from the"
        " archived measurement documents (see 'hover takeoff'); a document that does not"
        " parse is named on stderr and makes the exit status 1",
    )
    add_archive_options(arc)
    arc.set_defaults(handler=Handler(HoverArchiveCommand, cmd_archive))
    add_takeoff_command(commands, common)

    for parser in (job, jobs, arc, *add_webhook_commands(commands, common)):
        add_credentials(parser)
        add_http_options(parser)


class _Commas(argparse.Action):
    """A comma-separated option that adds up when repeated (``--include images --include
    pdf`` is ``--include images,pdf``), as ``--job`` does."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        before = getattr(namespace, self.dest, None)
        setattr(namespace, self.dest, f"{before},{values}" if before else values)
