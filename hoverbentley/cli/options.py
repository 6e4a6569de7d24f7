"""Option groups every command shares: verbosity, HTTP, and the archive options."""

from __future__ import annotations

import argparse

from ..archive.shard import SHARD_BY
from .common import env
from .exits import EXIT_MAX_DURATION, EXIT_MAX_TRANSFER
from .logs import LOG_FORMATS
from .settings import (
    SHARDS_VARIABLE,
    bandwidth,
    byte_size,
    duration,
    env_count,
    non_negative_int,
    non_negative_number,
    positive_int,
    positive_seconds,
    seconds,
    shard_arg,
    worker_count,
)


def add_verbosity(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """``-v``/``-q``, accepted before the command and after it.

    After the command they go to their own destinations, so a subcommand's default never
    overwrites what was given before it; :func:`.settings.output_of` adds the two up.
    """
    suffix = "_after" if after_command else ""
    parser.add_argument(
        "-v",
        "--verbose",
        dest="verbose" + suffix,
        action="count",
        default=0,
        help="log retries and progress (-vv: every request)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        dest="quiet" + suffix,
        action="store_true",
        help="no progress display, errors only",
    )
    # Given after the command, these replace what came before it (absent, they leave it).
    unset = argparse.SUPPRESS if after_command else None
    parser.add_argument(
        "--log-file",
        metavar="PATH",
        default=unset,
        help="append log records to PATH instead of stderr (progress stays on stderr)",
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=argparse.SUPPRESS if after_command else "text",
        help="text lines, or one JSON object per record for log pipelines (default text)",
    )


def add_http_options(parser: argparse.ArgumentParser) -> None:
    """Timeout, retry, rate-limit and TLS flags."""
    group = parser.add_argument_group("HTTP")
    group.add_argument(
        "--max-retries",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="retries per host for one request or file after a failure (default 5)",
    )
    group.add_argument(
        "--retry-for",
        type=positive_seconds,
        default=None,
        metavar="S",
        help="seconds one request or file may spend retrying (default 300)",
    )
    group.add_argument(
        "--connect-timeout",
        type=positive_seconds,
        default=None,
        metavar="S",
        help="seconds to wait for a connection (default 10)",
    )
    group.add_argument(
        "--read-timeout",
        type=positive_seconds,
        default=None,
        metavar="S",
        help="seconds to wait for the first byte of an answer (default 60)",
    )
    group.add_argument(
        "--stall-timeout",
        type=positive_seconds,
        default=None,
        metavar="S",
        help="seconds a body may deliver no byte before it is cut and resumed (default 20)",
    )
    group.add_argument(
        "--max-outage",
        type=seconds,
        default=None,
        metavar="S",
        help="seconds to wait for a host that stopped answering before its files fail"
        " (default 600)",
    )
    group.add_argument(
        "--bwlimit",
        type=bandwidth,
        default=None,
        metavar="RATE",
        help="bytes a second for all downloads together, with K, M or G (1024-based however"
        " written: 50M, 50MiB and 50MB are all 50 MiB/s, as rclone reads them): 50M, 1.5G"
        " (default: no limit)",
    )
    group.add_argument(
        "--requests-per-minute",
        type=non_negative_number,
        default=None,
        metavar="N",
        help="client-side limit of requests to the API host (0 turns it off; use 0 against"
        " the local emulator, which is not bound by the provider's limit)",
    )
    group.add_argument(
        "--ca-file",
        default=env("HOVERBENTLEY_CA_FILE"),
        metavar="PEM",
        help="CA bundle to verify TLS certificates with (env HOVERBENTLEY_CA_FILE);"
        " verification is always on",
    )


def add_run_options(group: argparse._ArgumentGroup) -> None:
    """``--concurrency``, ``--detail-concurrency`` and ``--retries``: how one archive run
    goes, for every command that runs the pipeline (the archive commands, ``serve``)."""
    group.add_argument(
        "--concurrency",
        type=worker_count,
        default=8,
        metavar="N",
        help="downloads at once (default 8)",
    )
    group.add_argument(
        "--detail-concurrency",
        type=worker_count,
        default=4,
        metavar="N",
        help="job records fetched at once (default 4)",
    )
    group.add_argument(
        "--retries",
        type=non_negative_int,
        default=2,
        metavar="N",
        help="after the main pass, plan failed files again with fresh URLs and retry them,"
        " up to N more passes (default 2; 0: one pass)",
    )


def add_archive_options(parser: argparse.ArgumentParser, *, dry_run: bool = True) -> None:
    """Concurrency, dry run, ``--json`` and progress, the same for every archive command."""
    group = parser.add_argument_group("archive run")
    add_run_options(group)
    group.add_argument(
        "--per-host",
        type=worker_count,
        default=None,
        metavar="N",
        help="downloads at once to one host (default: --concurrency)",
    )
    if dry_run:
        group.add_argument(
            "--dry-run",
            action="store_true",
            help="list and plan, and say what would be fetched and what is already in OUT"
            " (counts and sizes); write nothing",
        )
    group.add_argument(
        "--shard",
        type=shard_arg,
        default=None,
        metavar="K/N",
        help="archive only shard K of N (0 <= K < N, by a stable hash of each job id) into an"
        " object store OUT shared by all N; each shard keeps its own manifest part and the"
        " default --requests-per-minute is the provider's quota divided by N",
    )
    group.add_argument(
        "--shard-by",
        choices=SHARD_BY,
        default="job",
        help="what --shard splits: whole jobs (default), or each job's outputs by a stable hash"
        " of job and output id, so one huge Bentley job is spread over the shards (every shard"
        " then reads every job; the shard owning the job id writes its record)",
    )
    group.add_argument(
        "--shards",
        type=positive_int,
        default=env_count(SHARDS_VARIABLE),
        metavar="N",
        help="shard count of an array job: the shard is JOB_COMPLETION_INDEX (a Kubernetes"
        " Indexed Job) or AWS_BATCH_JOB_ARRAY_INDEX (an AWS Batch array job) of N"
        " (env HOVERBENTLEY_SHARDS)",
    )
    group.add_argument(
        "--max-transfer",
        type=byte_size,
        default=None,
        metavar="SIZE",
        help="stop cleanly once SIZE bytes were received (1024-based: 500M, 2G), as SIGTERM"
        f" does: a rerun resumes; exit status {EXIT_MAX_TRANSFER}",
    )
    group.add_argument(
        "--max-duration",
        type=duration,
        default=None,
        metavar="DURATION",
        help="stop cleanly after DURATION (seconds, or 90s, 30m, 1h30m), as SIGTERM does:"
        f" a rerun resumes; exit status {EXIT_MAX_DURATION}",
    )
    group.add_argument(
        "--json",
        action="store_true",
        help="print the summary as JSON on stdout (implies --no-progress unless --progress);"
        " with --dry-run, first one JSON object per file: job_id, path, size, action"
        " (fetch or skip) and reason",
    )
    group.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show progress on stderr (default: yes, except with --json or -q)",
    )
    group.add_argument(
        "--progress-interval",
        type=positive_seconds,
        default=None,
        metavar="S",
        help="seconds between progress updates (default 0.5 on a terminal, where the line is"
        " redrawn; elsewhere 10, each line starting with its UTC time)",
    )
