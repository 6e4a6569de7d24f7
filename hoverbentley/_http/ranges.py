"""Ranged GETs: the resume headers, and where a ranged answer's body starts (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes \*/(\d+)")


def strong(etag: str | None) -> str | None:
    """``etag`` if it is strong (a weak ``W/`` one cannot guard a range), else ``None``."""
    return etag if etag and not etag.startswith("W/") else None


def resume_headers(offset: int, etag: str | None) -> dict[str, str]:
    """The headers of a GET that continues at ``offset`` while the file is still ``etag``."""
    headers = {"Accept-Encoding": "identity"}
    if offset and etag:
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = etag
    return headers


def partial_start(headers: Mapping[str, str]) -> tuple[int, int | None] | None:
    """(first byte, total size or ``None``) of a 206's ``Content-Range``; ``None`` if unreadable."""
    match = _CONTENT_RANGE.match(headers.get("Content-Range", ""))
    if not match:
        return None
    return int(match.group(1)), None if match.group(3) == "*" else int(match.group(3))


def unsatisfied_total(headers: Mapping[str, str]) -> int | None:
    """The file's size a 416 names (``bytes */SIZE``), or ``None``."""
    if m := _UNSATISFIED_RANGE.match(headers.get("Content-Range", "")):
        return int(m.group(1))
    return None


class CannotResume(Exception):
    """The bytes kept so far cannot be continued: start again from the first byte."""


def body_start(
    status: int, headers: Mapping[str, str], content_length: int | None, offset: int
) -> tuple[int, int | None]:
    """Where a response to a GET resuming at ``offset`` starts, and the file's total size.

    A 200 is the whole file (the server ignored the range, or the file changed); a 206 must
    start at ``offset``, else :class:`CannotResume`.
    """
    if status == 206:
        found = partial_start(headers)
        if found is None or found[0] != offset:
            raise CannotResume()
        return offset, found[1]
    return 0, content_length
