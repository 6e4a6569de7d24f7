"""Small helpers shared by the command-line front ends: environment, argparse types, output."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from .._core.times import parse_iso
from ..errors import ConfigurationError
from ..hover.models import hover_id
from ..stores import parse_location

#: The ``--since`` formats, for help texts and errors alike.
SINCE_FORMATS = (
    "YYYY-MM-DD, or an ISO 8601 time such as 2025-03-01T12:00:00, 2025-03-01T12:00:00Z"
    " or 2025-03-01T12:00+02:00 (UTC when no zone is given)"
)


def env(name: str) -> str | None:
    """An environment variable, with empty values treated as unset."""
    value = os.environ.get(name)
    return value if value else None


def add_credential_options(
    parser: argparse.ArgumentParser,
    provider: str,
    options: Sequence[tuple[str, str, str, str | None]],
) -> None:
    """``provider``'s credential flags, each ``(flag, variable, help, default)``: the default
    comes from the environment variable (then ``default``), which the help names."""
    group = parser.add_argument_group(
        f"{provider} credentials (flags override the environment;"
        " prefer the environment for secrets)"
    )
    for flag, variable, text, default in options:
        shown = f", default {default}" if default else ""
        group.add_argument(
            flag, default=env(variable) or default, help=f"{text} ({variable}{shown})"
        )


def parse_since(text: str) -> datetime:
    """A date (``2025-03-01``) or ISO-8601 time, UTC when no zone is given."""
    try:
        when = parse_iso(text)
    except ValueError:
        when = None
    if when is None:
        raise argparse.ArgumentTypeError(
            f"not a date: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)"
        )
    return when


def hover_job_id(text: str) -> int:
    """An argparse type: a Hover job id, written in the digits 0-9, from 1 to
    :data:`~hoverbentley.hover.models.LARGEST_JOB_ID`."""
    try:
        return hover_id(text)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def check_out(text: str) -> Path | str:
    """OUT as a path, or an object store URL as given; an unknown ``scheme://`` or an existing
    non-directory is a usage error."""
    location = parse_location(text)
    if location.scheme != "file":
        return text
    path = Path(location.prefix)
    if path.exists() and not path.is_dir():
        raise ConfigurationError(f"OUT is not a directory: {path}")
    return path


def print_err(message: str) -> None:
    """A line on standard error."""
    print(message, file=sys.stderr, flush=True)


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
