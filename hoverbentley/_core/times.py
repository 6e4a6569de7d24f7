"""Timestamps as the APIs write them (pure functions)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

_FRACTION = re.compile(r"\.(\d+)")


def parse_iso(value: str | None) -> datetime | None:
    """A timezone-aware ``datetime`` from an ISO-8601 text, UTC where no zone is given.

    Reads ``2020-09-14``, ``2020-09-14T14:29:55Z`` and the seven fraction digits Bentley
    writes (``2020-09-14T14:29:55.0000000+00:00``). ``None`` and ``""`` give ``None``; any
    other text that is not a timestamp raises :class:`ValueError`.
    """
    if not value:
        return None
    # Python 3.10 reads only 3 or 6 fraction digits: write every fraction as 6.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.strip(), count=1)
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def utc_text(when: datetime) -> str:
    """``when`` as one form of ISO 8601: UTC, to the second, ``Z`` (``2020-09-14T14:29:55Z``)."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_utc_text(value: str | None) -> str | None:
    """An API's timestamp text in the one form of :func:`utc_text` (``None``/``""``: ``None``);
    a text that is not a timestamp is returned as it is."""
    try:
        parsed = parse_iso(value)
    except ValueError:
        return value
    return None if parsed is None else utc_text(parsed)
