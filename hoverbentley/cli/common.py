"""Options and helpers shared by the command-line front ends."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone

from ..config import HttpConfig
from ..errors import ConfigurationError


def env(name: str) -> str | None:
    """An environment variable, with empty values treated as unset."""
    value = os.environ.get(name)
    return value if value else None


def add_http_options(parser: argparse.ArgumentParser) -> None:
    """Timeout, retry, rate-limit and TLS flags."""
    group = parser.add_argument_group("HTTP")
    group.add_argument(
        "--max-retries",
        type=int,
        default=None,
        metavar="N",
        help="retries per request and per file after a failure (default 5)",
    )
    group.add_argument(
        "--connect-timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds to wait for a connection (default 10)",
    )
    group.add_argument(
        "--read-timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds to wait for each read from the server (default 60)",
    )
    group.add_argument(
        "--requests-per-minute",
        type=float,
        default=None,
        metavar="N",
        help="client-side limit of requests to the API host (0 turns it off)",
    )
    group.add_argument(
        "--ca-file",
        default=env("HOVERBENTLEY_CA_FILE"),
        metavar="PEM",
        help="CA bundle to verify TLS certificates with (env HOVERBENTLEY_CA_FILE);"
        " verification is always on",
    )


def http_config(args: argparse.Namespace, *, requests_per_minute: float | None) -> HttpConfig:
    """The :class:`HttpConfig` the flags describe, over the provider's default rate."""
    rpm = args.requests_per_minute
    if rpm is None:
        rpm = requests_per_minute
    elif rpm == 0:
        rpm = None
    values: dict[str, object] = {"requests_per_minute": rpm, "ca_file": args.ca_file}
    for name in ("max_retries", "connect_timeout", "read_timeout"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    try:
        return HttpConfig(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def parse_since(text: str) -> datetime:
    """A date (``2025-03-01``) or ISO-8601 time, UTC when no zone is given."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def print_err(message: str) -> None:
    """A line on standard error."""
    print(message, file=sys.stderr, flush=True)
