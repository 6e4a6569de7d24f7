"""``--files-from FILE``: the job ids of an archive run, one a line, from a file or stdin."""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..errors import ConfigurationError

T = TypeVar("T")

FILES_FROM_HELP = (
    "archive the jobs whose ids FILE lists, one a line ('-': standard input; blank lines and"
    " '#' comments are ignored)"
)


def read_job_ids(name: str, parse: Callable[[str], T]) -> list[T]:
    """The ids of file ``name`` (``-``: standard input), each read with ``parse``; an id it
    refuses is a :class:`ConfigurationError` naming the line."""
    where = "standard input" if name == "-" else name
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        cause = getattr(exc, "strerror", None) or exc
        raise ConfigurationError(f"cannot read --files-from {where}: {cause}") from None
    ids: list[T] = []
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        word = line.split("#", 1)[0].strip()
        if not word:
            continue
        try:
            ids.append(parse(word))
        except (argparse.ArgumentTypeError, ValueError) as exc:
            raise ConfigurationError(f"--files-from {where}, line {number}: {exc}") from None
    if not ids:
        raise ConfigurationError(f"--files-from {where} names no job id")
    return list(dict.fromkeys(ids))


def bentley_job_id(text: str) -> str:
    """A Bentley job id: a UUID, kept as written."""
    try:
        uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a job id: {text!r} (Bentley job ids are UUIDs)"
        ) from None
    return text
