"""Checks shared by the webhook verifiers of both providers (pure functions, no I/O).

Every refusal raises a :class:`~hoverbentley.errors.WebhookError` whose message starts with
``what`` (``"Hover webhook"``) and names the failed check; no message holds the secret.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import msgspec

from ..errors import ConfigurationError, MalformedEvent, StaleEvent

#: Events of either provider are a few hundred bytes; a larger body is refused before any hashing.
DEFAULT_MAX_BODY_SIZE = 1024 * 1024


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` in any letter case.

    A case-insensitive mapping (aiohttp's, Starlette's, ``email.message.Message``) answers the
    first lookup; a plain ``dict`` is searched key by key.
    """
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, found in headers.items():
        if key.lower() == wanted:
            return found
    return None


def digests_equal(received: str, expected: str) -> bool:
    """Whether two signatures are equal, in time independent of where they differ.

    Compared as UTF-8 bytes: :func:`hmac.compare_digest` raises ``TypeError`` for text that is
    not ASCII, which a forged header may well be.
    """
    return hmac.compare_digest(received.encode("utf-8"), expected.encode("utf-8"))


def require_secret(secret: str, what: str) -> bytes:
    """The secret as HMAC key bytes; an empty secret would let anyone sign, so it is refused."""
    if not secret:
        raise ConfigurationError(f"{what}: the secret is empty")
    return secret.encode("utf-8")


def check_body_size(body: bytes, limit: int | None, what: str) -> None:
    """Refuse a body larger than ``limit`` bytes (``None``: no limit)."""
    if limit is not None and len(body) > limit:
        size = len(body)
        raise MalformedEvent(f"{what}: body of {size} bytes is larger than the {limit} allowed")


def parse_http_date(value: str) -> datetime | None:
    """An aware ``datetime`` from an HTTP date (``Tue, 15 Nov 1994 08:12:31 GMT``) or ``None``."""
    try:
        from email.utils import parsedate_to_datetime  # the email package: only when asked

        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def http_date(when: datetime) -> str:
    """``when`` as an HTTP date in GMT (the inverse of :func:`parse_http_date`)."""
    aware = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    from email.utils import format_datetime

    return format_datetime(aware.astimezone(timezone.utc), usegmt=True)


def utc_now(now: datetime | None) -> datetime:
    """``now`` (naive taken as UTC), or the current time."""
    if now is None:
        return datetime.now(timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def check_tolerance(tolerance: object) -> timedelta:
    """``tolerance`` if it is a ``timedelta`` of zero or more, else a
    :class:`ConfigurationError` naming it (``300`` is no ``timedelta(seconds=300)``)."""
    if not isinstance(tolerance, timedelta) or tolerance < timedelta(0):
        raise ConfigurationError(
            f"tolerance must be a datetime.timedelta of zero or more, such as"
            f" timedelta(minutes=5), not {tolerance!r}"
        )
    return tolerance


def check_window(
    sent: datetime, *, now: datetime | None, tolerance: timedelta, what: str, label: str
) -> None:
    """Refuse a timestamp more than ``tolerance`` before or after ``now``.

    ``label`` names the timestamp in the message (``"Date 'Tue, 15 Nov 1994 08:12:31 GMT'"``).
    """
    skew = utc_now(now) - sent
    if abs(skew) <= tolerance:
        return
    limit = f"{tolerance.total_seconds():.0f} s"
    seconds = f"{abs(skew.total_seconds()):.0f} s"
    if skew > timedelta(0):
        raise StaleEvent(f"{what}: {label} is {seconds} old, more than the {limit} allowed")
    raise StaleEvent(f"{what}: {label} is {seconds} in the future, more than the {limit} allowed")


E = TypeVar("E")


def event_object(body: bytes, what: str, type_field: str) -> tuple[dict[str, Any], str]:
    """The JSON object of an event body and the text of its ``type_field`` (the event type);
    anything else is :class:`MalformedEvent` naming ``what`` (``"Hover webhook"``)."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise MalformedEvent(f"{what}: body is not JSON ({exc})") from None
    except RecursionError:
        raise MalformedEvent(f"{what}: body is JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise MalformedEvent(f"{what}: body is a JSON {type(data).__name__}, not an object")
    kind = data.get(type_field)
    if not isinstance(kind, str):
        raise MalformedEvent(f"{what}: body has no {type_field!r} text naming the event type")
    return data, kind


def convert_event(data: dict[str, Any], kind: str, event_type: type[E], what: str) -> E:
    """``data`` as an ``event_type``; fields of the wrong shape are :class:`MalformedEvent`."""
    try:
        return msgspec.convert(data, event_type)
    except msgspec.ValidationError as exc:
        raise MalformedEvent(f"{what}: {kind!r} event is not the documented shape: {exc}") from None
