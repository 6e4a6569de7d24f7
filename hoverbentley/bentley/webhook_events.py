"""Bentley iTwin Webhooks v2 events: verify a delivery's signature and parse it (no I/O).

Give :func:`bentley_event_from_http` the request's headers, its raw body and the webhook's
secret; it returns a typed event or raises :class:`~hoverbentley.errors.InvalidSignature`,
:class:`~hoverbentley.errors.StaleEvent` or :class:`~hoverbentley.errors.MalformedEvent`.

The envelope ``{content, eventType, enqueuedDateTime, iTwinId, messageId, webhookId}`` and the
content of each event type are those of the Webhooks v2 OpenAPI document. The signature scheme
is documented for the older Webhooks API only and assumed for v2; see :data:`SIGNATURE_HEADER`.

The signature covers the body, not a time: a captured delivery verifies again later. Keep the
``message_id`` of the events handled to drop a repeat, and pass ``tolerance`` to refuse events
enqueued too long ago.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypeAlias, cast

import msgspec

from .._core.times import parse_iso
from .._core.webhook_checks import (
    DEFAULT_MAX_BODY_SIZE,
    check_body_size,
    check_tolerance,
    check_window,
    convert_event,
    digests_equal,
    event_object,
    header,
    require_secret,
)
from ..errors import InvalidSignature, StaleEvent

_WHAT = "Bentley webhook"

# ASSUMED for Webhooks v2: Bentley documents this scheme for the older Webhooks API (an HMAC of
# the whole raw body with the webhook's secret, ``Signature: sha256=<hex>``); the v2 pages and
# OpenAPI document do not describe it. Change it here and nowhere else.
SIGNATURE_HEADER = "Signature"
SIGNATURE_SCHEMES: Mapping[str, str] = {"sha256": "sha256"}
_SIGNING_SCHEME = "sha256"

# The OpenAPI example of enqueuedDateTime is "11/3/2023 8:07:01 PM", with no zone: taken as UTC.
_ENQUEUED_FORMAT = "%m/%d/%Y %I:%M:%S %p"


def parse_enqueued(value: str) -> datetime | None:
    """An aware ``datetime`` from an ``enqueuedDateTime`` (ISO-8601, or ``11/3/2023 8:07:01 PM``
    taken as UTC), or ``None`` when it is neither."""
    try:
        return parse_iso(value)
    except ValueError:
        pass
    try:
        return datetime.strptime(value.strip(), _ENQUEUED_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


class JobCompletedContent(msgspec.Struct, kw_only=True, frozen=True):
    """The content of ``realityModeling.jobCompleted.v1``, ``realityAnalysis.jobCompleted.v1``
    and ``realityConversion.jobCompleted.v1``: the job's id."""

    job_id: str = msgspec.field(name="jobId")


class JobCompletedV2Content(msgspec.Struct, kw_only=True, frozen=True):
    """The content of ``realityModeling.jobCompleted.v2``: the job's id and how it ended
    (``Success``, ``Failed`` or ``Cancelled``)."""

    job_id: str = msgspec.field(name="jobId")
    state: str


class BentleyWebhookEvent(msgspec.Struct, kw_only=True, frozen=True):
    """The envelope every Webhooks v2 event carries; ``content`` is per event type."""

    event_type: str = msgspec.field(name="eventType")
    enqueued_date_time: str | None = msgspec.field(default=None, name="enqueuedDateTime")
    i_twin_id: str | None = msgspec.field(default=None, name="iTwinId")
    message_id: str | None = msgspec.field(default=None, name="messageId")
    webhook_id: str | None = msgspec.field(default=None, name="webhookId")

    @property
    def enqueued_at(self) -> datetime | None:
        """``enqueuedDateTime`` as an aware ``datetime``; ``None`` if absent or unreadable."""
        return parse_enqueued(self.enqueued_date_time) if self.enqueued_date_time else None


class RealityModelingJobCompletedV2(BentleyWebhookEvent, frozen=True):
    """``realityModeling.jobCompleted.v2``: a Reality Modeling v2 job ended."""

    content: JobCompletedV2Content


class RealityModelingJobCompletedV1(BentleyWebhookEvent, frozen=True):
    """``realityModeling.jobCompleted.v1``: a Reality Modeling v1 (ContextCapture) job ended."""

    content: JobCompletedContent


class RealityAnalysisJobCompletedV1(BentleyWebhookEvent, frozen=True):
    """``realityAnalysis.jobCompleted.v1``: a Reality Analysis job ended."""

    content: JobCompletedContent


class RealityConversionJobCompletedV1(BentleyWebhookEvent, frozen=True):
    """``realityConversion.jobCompleted.v1``: a Reality Conversion job ended."""

    content: JobCompletedContent


class GenericBentleyEvent(BentleyWebhookEvent, frozen=True):
    """An event of a type this package does not model; ``content`` is as decoded from JSON."""

    content: Any = None


BentleyEvent: TypeAlias = (
    RealityModelingJobCompletedV2
    | RealityModelingJobCompletedV1
    | RealityAnalysisJobCompletedV1
    | RealityConversionJobCompletedV1
    | GenericBentleyEvent
)

_EVENT_TYPES: Mapping[str, type[BentleyWebhookEvent]] = {
    "realityModeling.jobCompleted.v2": RealityModelingJobCompletedV2,
    "realityModeling.jobCompleted.v1": RealityModelingJobCompletedV1,
    "realityAnalysis.jobCompleted.v1": RealityAnalysisJobCompletedV1,
    "realityConversion.jobCompleted.v1": RealityConversionJobCompletedV1,
}


def _hex(key: bytes, body: bytes, scheme: str) -> str:
    return hmac.new(key, body, SIGNATURE_SCHEMES[scheme]).hexdigest()


def sign_bentley_event(body: bytes, *, secret: str) -> dict[str, str]:
    """The headers of a signed Bentley delivery of ``body`` (the inverse of the verification)."""
    key = require_secret(secret, _WHAT)
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: f"{_SIGNING_SCHEME}={_hex(key, body, _SIGNING_SCHEME)}",
    }


def validate_bentley_signature(headers: Mapping[str, str], body: bytes, *, secret: str) -> None:
    """Check that ``body`` was signed with ``secret``.

    ``headers`` is the request's header mapping (any letter case). Raises
    :class:`InvalidSignature` for a missing or unknown signature header or one that does not
    match (another webhook's secret, a forged request, a body altered after signing).
    """
    key = require_secret(secret, _WHAT)
    expected_form = f"'{SIGNATURE_HEADER}: {_SIGNING_SCHEME}=<hex>'"
    value = header(headers, SIGNATURE_HEADER)
    if value is None:
        raise InvalidSignature(f"{_WHAT}: no {SIGNATURE_HEADER} header (expected {expected_form})")
    scheme, equals, received = value.strip().partition("=")
    scheme = scheme.strip().lower()
    if not equals or scheme not in SIGNATURE_SCHEMES:
        raise InvalidSignature(
            f"{_WHAT}: {SIGNATURE_HEADER} header is not of the form {expected_form}"
        )
    if not digests_equal(received.strip().lower(), _hex(key, body, scheme)):
        raise InvalidSignature(
            f"{_WHAT}: the {SIGNATURE_HEADER} header does not match HMAC-{scheme.upper()} of the "
            "body with this secret (another webhook's secret, a forged request, or the body "
            "altered after it was signed)"
        )


def decode_bentley_event(body: bytes) -> BentleyEvent:
    """The typed event of a body, WITHOUT checking its signature.

    An ``eventType`` this package does not model gives a :class:`GenericBentleyEvent` with the
    raw ``content``; a body that is not a JSON object with an ``eventType`` text, or a known
    event whose envelope or content has the wrong shape, raises :class:`MalformedEvent`.
    """
    data, kind = event_object(body, _WHAT, "eventType")
    event_type = _EVENT_TYPES.get(kind, GenericBentleyEvent)
    return cast(BentleyEvent, convert_event(data, kind, event_type, _WHAT))


def bentley_event_from_http(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    now: datetime | None = None,
    tolerance: timedelta | None = None,
    max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
) -> BentleyEvent:
    """Verify a Bentley delivery (:func:`validate_bentley_signature`) and return its event.

    With ``tolerance``, an event whose ``enqueuedDateTime`` is missing, unreadable or more than
    ``tolerance`` from ``now`` (default: the current time) either way raises
    :class:`StaleEvent`; without it (the default) no time is checked, since Bentley's retries of
    a delivery are not documented. A body over ``max_body_size`` bytes is refused first.
    """
    if tolerance is not None:
        check_tolerance(tolerance)
    check_body_size(body, max_body_size, _WHAT)
    validate_bentley_signature(headers, body, secret=secret)
    event = decode_bentley_event(body)
    if tolerance is not None:
        if event.enqueued_date_time is None:
            raise StaleEvent(f"{_WHAT}: no enqueuedDateTime, so the event's age cannot be checked")
        enqueued = event.enqueued_at
        if enqueued is None:
            text = event.enqueued_date_time[:64]
            raise StaleEvent(f"{_WHAT}: enqueuedDateTime {text!r} is not a date and time")
        label = f"enqueuedDateTime {event.enqueued_date_time!r}"
        check_window(enqueued, now=now, tolerance=tolerance, what=_WHAT, label=label)
    return event
