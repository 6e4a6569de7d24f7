"""Hover webhook events: verify a delivery's signature and parse its body (no I/O).

Give :func:`hover_event_from_http` the request's headers, its raw body, the webhook's
``hmac_secret`` and the path of the PUBLIC URL the webhook was registered with; it returns a
typed event or raises :class:`~hoverbentley.errors.InvalidSignature`,
:class:`~hoverbentley.errors.StaleEvent` or :class:`~hoverbentley.errors.MalformedEvent`.

What Hover documents: an HMAC with ``hmac_secret`` over the request's ``Content-Type``,
``Content-MD5``, request URI and ``Date`` (blank for a missing content type or MD5), and the
event bodies (an ``event`` attribute names the type). What it does not: the header that carries
the signature and the digest. Both are taken from the Ruby ``api-auth`` library, whose canonical
string this is; see :data:`SIGNATURE_SCHEMES`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypeAlias, cast
from urllib.parse import urlsplit

import msgspec

from .._core.webhook_checks import (
    DEFAULT_MAX_BODY_SIZE,
    check_body_size,
    check_tolerance,
    check_window,
    convert_event,
    digests_equal,
    event_object,
    header,
    http_date,
    parse_http_date,
    require_secret,
    utc_now,
)
from ..errors import ConfigurationError, InvalidSignature, StaleEvent

_WHAT = "Hover webhook"

# ASSUMED, not confirmed by Hover: the signature travels as api-auth sends it,
# ``Authorization: <scheme> <access id>:<base64 HMAC of the canonical string>``, and the scheme
# names the digest. These two are the api-auth spellings; change them here and nowhere else.
SIGNATURE_HEADER = "Authorization"
SIGNATURE_SCHEMES: Mapping[str, str] = {
    "APIAuth": "sha1",
    "APIAuth-HMAC-SHA256": "sha256",
}

#: How far the ``Date`` header may be from now, either way.
DEFAULT_TOLERANCE = timedelta(minutes=5)


class HoverWebhookEvent(msgspec.Struct, kw_only=True, frozen=True):
    """What every Hover event carries: its type (``event``) and the webhook's id."""

    event: str
    webhook_id: int | None = None


class WebhookVerificationCode(HoverWebhookEvent, frozen=True):
    """``webhook-verification-code``: confirm with ``PUT /api/v2/webhooks/{code}/verify``.

    The code goes into a URL path and a log line, so it must be one printable word of at most
    256 characters.
    """

    code: str

    def __post_init__(self) -> None:
        code = self.code
        if not code or len(code) > 256 or not code.isprintable() or any(c.isspace() for c in code):
            raise ValueError("code is no printable word of 1 to 256 characters")


class JobStateChanged(HoverWebhookEvent, frozen=True):
    """``job-state-changed`` and ``job-state-changed-v2``: a job entered ``state``."""

    job_id: int
    state: str
    job_external_identifier: str | None = None
    job_estimated_hours_to_completion: float | None = None
    content_available: int | None = msgspec.field(default=None, name="content-available")


class ModelCreated(HoverWebhookEvent, frozen=True):
    """``model-created``: a structure or level (model) was added to a job."""

    job_id: int
    model_id: int
    state: str | None = None
    job_external_identifier: str | None = None


class ModelStateChanged(HoverWebhookEvent, frozen=True):
    """``model-state-changed``: one model of a job entered ``state``."""

    job_id: int
    model_id: int
    state: str
    job_external_identifier: str | None = None


class GenericHoverEvent(HoverWebhookEvent, frozen=True):
    """An event of a type this package does not model; ``data`` is the whole decoded body."""

    data: dict[str, Any] = msgspec.field(default_factory=dict)


HoverEvent: TypeAlias = (
    WebhookVerificationCode | JobStateChanged | ModelCreated | ModelStateChanged | GenericHoverEvent
)

_EVENT_TYPES: Mapping[str, type[HoverWebhookEvent]] = {
    "webhook-verification-code": WebhookVerificationCode,
    "job-state-changed": JobStateChanged,
    "job-state-changed-v2": JobStateChanged,
    "model-created": ModelCreated,
    "model-state-changed": ModelStateChanged,
}


def canonical_uri(url_or_path: str) -> str:
    """The request URI of the canonical string: path and query of a URL, ``/`` when empty."""
    parts = urlsplit(url_or_path)
    if parts.scheme or parts.netloc:
        path = parts.path or "/"
        return f"{path}?{parts.query}" if parts.query else path
    return url_or_path or "/"


def canonical_string(
    *, content_type: str | None, content_md5: str | None, request_uri: str, date: str | None
) -> str:
    """``content-type,content-MD5,request-URI,date``: the text the signature is computed over."""
    return ",".join((content_type or "", content_md5 or "", request_uri, date or ""))


def content_md5(body: bytes) -> str:
    """The ``Content-MD5`` of a body: base64 of its MD5 digest."""
    # Content-MD5 is an integrity check of the body; the HMAC is what authenticates.
    return base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode("ascii")


def _hmac(key: bytes, text: str, digest: str) -> str:
    mac = hmac.new(key, text.encode("utf-8"), digest).digest()
    return base64.b64encode(mac).decode("ascii")


def sign_hover_event(
    body: bytes,
    *,
    secret: str,
    request_uri: str,
    date: datetime | None = None,
    content_type: str = "application/json",
    access_id: str = "hover",
    scheme: str = "APIAuth",
) -> dict[str, str]:
    """The headers of a signed Hover delivery of ``body`` (the inverse of the verification).

    ``request_uri`` is the path (or the whole URL) the delivery is posted to; ``date`` defaults
    to now; ``scheme`` is one of :data:`SIGNATURE_SCHEMES`.
    """
    key = require_secret(secret, _WHAT)
    digest = SIGNATURE_SCHEMES.get(scheme)
    if digest is None:
        raise ConfigurationError(
            f"{_WHAT}: signature scheme {scheme!r} is not one of {sorted(SIGNATURE_SCHEMES)}"
        )
    headers = {
        "Content-Type": content_type,
        "Content-MD5": content_md5(body),
        "Date": http_date(utc_now(date)),
    }
    text = canonical_string(
        content_type=content_type,
        content_md5=headers["Content-MD5"],
        request_uri=canonical_uri(request_uri),
        date=headers["Date"],
    )
    headers[SIGNATURE_HEADER] = f"{scheme} {access_id}:{_hmac(key, text, digest)}"
    return headers


def _signature(headers: Mapping[str, str]) -> tuple[str, str]:
    """The digest and base64 signature of the signature header, or :class:`InvalidSignature`."""
    schemes = " or ".join(f"'{name} ID:SIGNATURE'" for name in SIGNATURE_SCHEMES)
    value = header(headers, SIGNATURE_HEADER)
    if value is None:
        raise InvalidSignature(f"{_WHAT}: no {SIGNATURE_HEADER} header (expected {schemes})")
    scheme, _, credentials = value.strip().partition(" ")
    digest = SIGNATURE_SCHEMES.get(scheme)
    if digest is None:
        # The received text is not quoted back: it may be anything, a secret included.
        raise InvalidSignature(f"{_WHAT}: {SIGNATURE_HEADER} header's scheme is not {schemes}")
    _, colon, signature = credentials.strip().rpartition(":")
    if not colon or not signature:
        raise InvalidSignature(f"{_WHAT}: {SIGNATURE_HEADER} header is not {schemes}")
    return digest, signature


def validate_hover_signature(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    request_uri: str,
    now: datetime | None = None,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    require_content_md5: bool = True,
) -> None:
    """Check that a delivery was signed with ``secret``, carries this body and is recent.

    ``headers`` is the request's header mapping (any letter case); ``request_uri`` is the path
    and query (or the whole URL) of the PUBLIC URL the webhook was registered with, which is
    what Hover signs, not the path a server behind a proxy or ingress sees. ``Date`` must be
    within ``tolerance`` of ``now`` (default: the current time) either way.

    Only ``Content-MD5`` ties the body to the signature, so a non-empty body without it is
    refused unless ``require_content_md5=False`` (api-auth sends it with every POST).

    Raises :class:`InvalidSignature` (no or unknown signature header, wrong signature, a
    ``Content-MD5`` that does not match the body) or :class:`StaleEvent` (``Date`` missing,
    unreadable or outside the window).
    """
    key = require_secret(secret, _WHAT)
    check_tolerance(tolerance)
    digest, received = _signature(headers)
    md5 = header(headers, "Content-MD5")
    date = header(headers, "Date")
    uri = canonical_uri(request_uri)
    text = canonical_string(
        content_type=header(headers, "Content-Type"), content_md5=md5, request_uri=uri, date=date
    )
    if not digests_equal(received.strip(), _hmac(key, text, digest)):
        raise InvalidSignature(
            f"{_WHAT}: the {SIGNATURE_HEADER} signature does not match HMAC-{digest.upper()} "
            f"with this secret over Content-Type, Content-MD5, request URI {uri!r} and Date "
            "(another webhook's secret, a forged request, or a request URI other than the "
            "public URL's path the webhook was registered with)"
        )
    if md5 is None:
        if body and require_content_md5:
            raise InvalidSignature(
                f"{_WHAT}: no Content-MD5 header, so the signature does not cover the body"
            )
    elif not digests_equal(md5.strip(), content_md5(body)):
        raise InvalidSignature(
            f"{_WHAT}: Content-MD5 does not match the body (altered after it was signed)"
        )
    if date is None:
        raise StaleEvent(f"{_WHAT}: no Date header, so the event's age cannot be checked")
    sent = parse_http_date(date)
    if sent is None:
        raise StaleEvent(f"{_WHAT}: Date header {date[:64]!r} is not an HTTP date")
    check_window(sent, now=now, tolerance=tolerance, what=_WHAT, label=f"Date {date!r}")


def decode_hover_event(body: bytes) -> HoverEvent:
    """The typed event of a body, WITHOUT checking its signature.

    An ``event`` this package does not model gives a :class:`GenericHoverEvent`; a body that is
    not a JSON object with an ``event`` text, or a known event whose fields have the wrong
    types, raises :class:`MalformedEvent`.
    """
    data, kind = event_object(body, _WHAT, "event")
    event_type = _EVENT_TYPES.get(kind)
    if event_type is None:
        webhook_id = data.get("webhook_id")
        if not isinstance(webhook_id, int) or isinstance(webhook_id, bool):
            webhook_id = None
        return GenericHoverEvent(event=kind, webhook_id=webhook_id, data=data)
    return cast(HoverEvent, convert_event(data, kind, event_type, _WHAT))


def hover_event_from_http(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    request_uri: str,
    now: datetime | None = None,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    require_content_md5: bool = True,
    max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
) -> HoverEvent:
    """Verify a Hover delivery (:func:`validate_hover_signature`) and return its typed event.

    A body over ``max_body_size`` bytes is refused before anything is computed.
    """
    check_body_size(body, max_body_size, _WHAT)
    validate_hover_signature(
        headers,
        body,
        secret=secret,
        request_uri=request_uri,
        now=now,
        tolerance=tolerance,
        require_content_md5=require_content_md5,
    )
    return decode_hover_event(body)
