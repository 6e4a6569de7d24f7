"""``hoverbentley bentley create | cancel | wait``: a job's life, in v1 and v2 alike."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from ..bentley import models as v1
from ..bentley import v2_models as v2
from ..bentley.polling import POLL_BACKOFF
from ..errors import APITimeoutError, HoverBentleyError
from .bentley_api import bentley_client
from .bentley_views import Job, describe, succeeded, write_json
from .common import print_err
from .jobfile import creation, read_json
from .progress import terminal_width
from .settings import BentleyAccount, Handler, HttpSettings, Output, seconds

if TYPE_CHECKING:
    from .bentley_api import AnyClient


class WaitGaveUp(HoverBentleyError):
    """``--max-wait`` passed while the job was still running."""


class CancelRefused(HoverBentleyError):
    """The service would not cancel the job (v2: it is about to complete)."""


@dataclass(frozen=True)
class BentleyCreateCommand:
    """``bentley create FILE``."""

    file: str
    submit: bool
    account: BentleyAccount
    http: HttpSettings
    output: Output


@dataclass(frozen=True)
class BentleyCancelCommand:
    """``bentley cancel ID``."""

    job_id: str
    account: BentleyAccount
    http: HttpSettings
    output: Output


@dataclass(frozen=True)
class BentleyWaitCommand:
    """``bentley wait ID``: how long to wait, and how often to poll."""

    job_id: str
    max_wait: float | None
    poll_interval: float | None
    account: BentleyAccount
    http: HttpSettings
    output: Output


async def cmd_create(s: BentleyCreateCommand) -> int:
    where = "standard input" if s.file == "-" else s.file
    document = read_json(s.file)
    job_to_create = creation(document, s.account.api, service=s.account.service, where=where)
    from ..bentley.client import RealityModelingClient

    async with bentley_client(s.account, s.http) as client:
        if isinstance(client, RealityModelingClient):
            assert isinstance(job_to_create, v1.JobCreation)
            job: Job = await client.create_job(job_to_create)
            if s.submit:
                job = await client.submit_job(job.id)
            elif not s.output.json:
                print_err(f"job {job.id} created, not submitted (v1): --submit also starts it")
        else:
            assert isinstance(job_to_create, v2.JobCreation)
            job = await client.create_job(job_to_create)
    _show(s.output, job, brief=True)
    return 0


async def cmd_cancel(s: BentleyCancelCommand) -> int:
    from ..bentley.v2 import CancellationRefused

    async with bentley_client(s.account, s.http) as client:
        try:
            job: Job = await client.cancel_job(s.job_id)
        except CancellationRefused as exc:
            reasons = [d.message for d in exc.details if d.message] or [exc.api_message or ""]
            raise CancelRefused(
                f"job {s.job_id} cannot be cancelled now: {'; '.join(reasons)}"
                f" (HTTP {exc.status_code})"
            ) from None
    _show(s.output, job, brief=True)
    return 0


async def cmd_wait(s: BentleyWaitCommand) -> int:
    intervals = (s.poll_interval,) if s.poll_interval is not None else POLL_BACKOFF
    display = _ProgressLine(sys.stderr, s.job_id, quiet=s.output.quiet)
    async with bentley_client(s.account, s.http) as client:
        try:
            try:
                job: Job = await client.wait_for_completion(
                    s.job_id,
                    max_wait=s.max_wait,
                    intervals=intervals,
                    on_progress=display.show,
                )
            finally:
                display.close()
        except APITimeoutError as exc:
            raise WaitGaveUp(
                f"gave up waiting after --max-wait {s.max_wait:g} s: {exc.message};"
                f" the job goes on (hoverbentley bentley cancel {s.job_id} stops it)"
            ) from None
        if succeeded(job):
            _show(s.output, job)
            return 0
        problems = await _problems(client, job)
    _show(s.output, job)
    for line in problems:
        print_err(line)
    print_err(f"hoverbentley: job {job.id} ended {job.state}")
    return 1


def _show(output: Output, job: Job, *, brief: bool = False) -> None:
    if output.json:
        write_json(job)
    elif brief:
        print(f"{job.id}\t{job.state}")
    else:
        print("\n".join(describe(job)))


async def _problems(client: AnyClient, job: Job) -> list[str]:
    """The errors (then warnings) a failed or cancelled job reports."""
    from ..bentley.v2 import V2JobsApi

    if isinstance(job, v1.Job):
        info = job.execution_information
        found: list[tuple[str, Any]] = []
        if info is not None:
            found = [("error", m) for m in info.errors or []]
            found += [("warning", m) for m in info.warnings or []]
        return [f"{kind} {m.code or '-'}: {m.message or m.title or ''}" for kind, m in found]
    assert isinstance(client, V2JobsApi)
    messages = await client.get_messages(job.id)
    return [f"error {m.code or '-'}: {m.text}" for m in messages.errors] + [
        f"warning {m.code or '-'}: {m.text}" for m in messages.warnings
    ]


class _ProgressLine:
    """The job's progress on stderr: redrawn in place on a terminal, a line per change
    elsewhere; nothing with ``-q``."""

    def __init__(self, stream: TextIO, job_id: str, *, quiet: bool) -> None:
        self.stream, self.job_id, self.quiet = stream, job_id, quiet
        self.tty = stream.isatty()
        self.last: str | None = None

    def show(self, progress: v1.JobProgress | v2.Progress) -> None:
        if self.quiet:
            return
        how = f"{progress.percentage:g}% {progress.state or ''}"
        if isinstance(progress, v1.JobProgress) and progress.step:
            how += f" ({progress.step})"
        text = f"job {self.job_id}: {how}"
        if text == self.last:
            return
        self.last = text
        if self.tty:
            room = max(terminal_width(self.stream) - 1, 0)
            shown = text if len(text) <= room else how  # the id was typed; the progress was not
            self.stream.write("\r" + shown[:room] + "\x1b[K")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.last is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def add_lifecycle_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> list[argparse.ArgumentParser]:
    """Register ``create``, ``cancel`` and ``wait``; return their parsers."""
    create = commands.add_parser(
        "create",
        parents=[common],
        help="create a job from a JSON file (v2: it starts; v1: with --submit)",
        description="Create a job from FILE, a JSON job as the API takes it (v1: type, name,"
        " workspaceId, inputs, settings; v2: type, iTwinId, specifications, name). FILE is"
        " checked locally first, and a field the API would refuse is a usage error (exit 2)"
        " naming it. Prints the job id and state (the job with --json).",
    )
    create.add_argument("file", metavar="FILE", help="the job as JSON ('-': standard input)")
    create.add_argument(
        "--submit",
        action="store_true",
        help="v1: also submit the job, so it starts (a v1 job is created unsubmitted;"
        " a v2 job always starts when created)",
    )
    create.add_argument("--json", action="store_true", help="print the created job as JSON")
    create.set_defaults(handler=Handler(BentleyCreateCommand, cmd_create))

    cancel = commands.add_parser(
        "cancel",
        parents=[common],
        help="cancel a job",
        description="Cancel job ID (v1: PATCH state Cancelled; v2: DELETE, the job then"
        " TerminatingOnCancel). Exit 1 when the service refuses, with its reason (v2 refuses"
        " close to the end of a job).",
    )
    cancel.add_argument("job_id", metavar="ID", help="the job id (a UUID)")
    cancel.add_argument("--json", action="store_true", help="print the job as JSON")
    cancel.set_defaults(handler=Handler(BentleyCancelCommand, cmd_cancel))

    wait = commands.add_parser(
        "wait",
        parents=[common],
        help="wait for a job to end, showing its progress",
        description="Poll job ID's progress until it ends, showing it on stderr, then print"
        " the job. Polls come after 15, 30, 60 and 120 s, as the service asks, starting again"
        " from 15 s whenever the percentage moves. Exit status: 0 when the job succeeded,"
        " 1 when it failed or was cancelled (its error messages on stderr) or --max-wait"
        " passed, 2 for usage errors (v1: a job not submitted).",
    )
    wait.add_argument("job_id", metavar="ID", help="the job id (a UUID)")
    wait.add_argument(
        "--max-wait",
        type=seconds,
        default=None,
        metavar="S",
        help="give up (exit 1) after S seconds; the job goes on (default: wait as long as it runs)",
    )
    wait.add_argument(
        "--poll-interval",
        type=seconds,
        default=None,
        metavar="S",
        help="poll every S seconds instead of the service's 15/30/60/120 s (mind the rate limit)",
    )
    wait.add_argument("--json", action="store_true", help="print the final job as JSON")
    wait.set_defaults(handler=Handler(BentleyWaitCommand, cmd_wait))
    return [create, cancel, wait]
