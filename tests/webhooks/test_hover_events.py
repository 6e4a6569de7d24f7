"""Hover webhook deliveries: verification (api-auth style HMAC, Content-MD5, Date window) and
the typed events, with no I/O.

The oracle of the known vectors is computed here by hand with hmac/hashlib, and pinned to
values computed once with ``openssl dgst`` (see each constant), so it is not a copy of the code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from multidict import CIMultiDict

from hoverbentley.errors import (
    ConfigurationError,
    HoverBentleyError,
    InvalidSignature,
    MalformedEvent,
    StaleEvent,
    WebhookError,
)
from hoverbentley.hover import (
    GenericHoverEvent,
    HoverWebhookEvent,
    JobStateChanged,
    ModelCreated,
    ModelStateChanged,
    WebhookVerificationCode,
    decode_hover_event,
    hover_event_from_http,
    sign_hover_event,
    validate_hover_signature,
)

SECRET = "dGVzdC1ob3Zlci1obWFjLXNlY3JldC1ub3QtcmVhbA=="
OTHER_SECRET = "b3RoZXItd2ViaG9vay1zZWNyZXQtbm90LXJlYWw="
PUBLIC_URI = "/hooks/hover"
DATE = "Tue, 05 Mar 2024 12:00:00 GMT"
NOW = datetime(2024, 3, 5, 12, 0, 0, tzinfo=timezone.utc)

KNOWN_BODY = (
    b'{"event":"job-state-changed","webhook_id":230293,'
    b'"job_external_identifier":"order01239181","job_id":19402492,"state":"complete"}'
)
# printf '%s' "$KNOWN_BODY" | openssl dgst -md5 -binary | base64
KNOWN_MD5 = "7/+P0SYRLaG9KXoDBHURlQ=="
# printf '%s' "application/json,$KNOWN_MD5,/hooks/hover,$DATE" \
#   | openssl dgst -sha1 -hmac "$SECRET" -binary | base64      (and -sha256)
KNOWN_SHA1 = "wLjLIp8X5RgTrp68dqf9h3EMzqk="
KNOWN_SHA256 = "ie7tvByjEgD6pSZgSqSGdAY4Ys0LeuMT7eVMtDs6Z7c="


def md5_of(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()


def by_hand(
    body: bytes,
    *,
    secret: str = SECRET,
    uri: str = PUBLIC_URI,
    date: str | None = DATE,
    md5: str | None = "computed",
    content_type: str | None = "application/json",
    scheme: str = "APIAuth",
) -> dict[str, str]:
    """The headers of a delivery, signed here with hmac/hashlib alone."""
    digest = {"APIAuth": hashlib.sha1, "APIAuth-HMAC-SHA256": hashlib.sha256}[scheme]
    if md5 == "computed":
        md5 = md5_of(body)
    canonical = ",".join([content_type or "", md5 or "", uri, date or ""])
    mac = hmac.new(secret.encode(), canonical.encode(), digest).digest()
    headers = {"Authorization": f"{scheme} 230293:{base64.b64encode(mac).decode()}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if md5 is not None:
        headers["Content-MD5"] = md5
    if date is not None:
        headers["Date"] = date
    return headers


def receive(headers: Any, body: bytes, **kwargs: Any) -> Any:
    kwargs.setdefault("secret", SECRET)
    kwargs.setdefault("request_uri", PUBLIC_URI)
    kwargs.setdefault("now", NOW)
    return hover_event_from_http(headers, body, **kwargs)


def event_body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


# --- known vectors: the oracle is hmac/hashlib and openssl, not the code under test ------------


def test_the_hand_computed_oracle_matches_openssl() -> None:
    assert md5_of(KNOWN_BODY) == KNOWN_MD5
    assert by_hand(KNOWN_BODY)["Authorization"] == f"APIAuth 230293:{KNOWN_SHA1}"
    sha256 = by_hand(KNOWN_BODY, scheme="APIAuth-HMAC-SHA256")["Authorization"]
    assert sha256 == f"APIAuth-HMAC-SHA256 230293:{KNOWN_SHA256}"


@pytest.mark.parametrize(
    ("scheme", "signature"), [("APIAuth", KNOWN_SHA1), ("APIAuth-HMAC-SHA256", KNOWN_SHA256)]
)
def test_a_known_vector_verifies_and_parses(scheme: str, signature: str) -> None:
    headers = {
        "Content-Type": "application/json",
        "Content-MD5": KNOWN_MD5,
        "Date": DATE,
        "Authorization": f"{scheme} 230293:{signature}",
    }
    event = receive(headers, KNOWN_BODY)
    assert event == JobStateChanged(
        event="job-state-changed",
        webhook_id=230293,
        job_id=19402492,
        state="complete",
        job_external_identifier="order01239181",
    )
    assert isinstance(event.job_id, int)


@pytest.mark.parametrize(
    ("scheme", "signature"), [("APIAuth", KNOWN_SHA1), ("APIAuth-HMAC-SHA256", KNOWN_SHA256)]
)
def test_the_signer_reproduces_the_known_vector(scheme: str, signature: str) -> None:
    headers = sign_hover_event(
        KNOWN_BODY,
        secret=SECRET,
        request_uri="https://hooks.example.com/hooks/hover",
        date=NOW,
        access_id="230293",
        scheme=scheme,
    )
    assert headers == {
        "Content-Type": "application/json",
        "Content-MD5": KNOWN_MD5,
        "Date": DATE,
        "Authorization": f"{scheme} 230293:{signature}",
    }


# --- every event type ----------------------------------------------------------------------


VALID_EVENTS: list[tuple[dict[str, Any], HoverWebhookEvent]] = [
    (
        {"event": "webhook-verification-code", "webhook_id": 230293, "code": "03947FE2-28C3"},
        WebhookVerificationCode(
            event="webhook-verification-code", webhook_id=230293, code="03947FE2-28C3"
        ),
    ),
    (
        {"event": "job-state-changed", "webhook_id": 1, "job_id": 7, "state": "processing"},
        JobStateChanged(event="job-state-changed", webhook_id=1, job_id=7, state="processing"),
    ),
    (
        {
            "event": "job-state-changed-v2",
            "webhook_id": 230293,
            "job_external_identifier": "order01239181",
            "job_id": 19402492,
            "state": "completed",
            "content-available": 1,
            "job_estimated_hours_to_completion": 1.3902,
        },
        JobStateChanged(
            event="job-state-changed-v2",
            webhook_id=230293,
            job_id=19402492,
            state="completed",
            job_external_identifier="order01239181",
            job_estimated_hours_to_completion=1.3902,
            content_available=1,
        ),
    ),
    (
        {"event": "model-created", "webhook_id": 1, "job_id": 7, "model_id": 70},
        ModelCreated(event="model-created", webhook_id=1, job_id=7, model_id=70),
    ),
    (
        {
            "event": "model-state-changed",
            "webhook_id": 1,
            "job_id": 7,
            "model_id": 70,
            "state": "complete",
            "job_external_identifier": None,
            "a_field_added_later": [1, 2],
        },
        ModelStateChanged(
            event="model-state-changed", webhook_id=1, job_id=7, model_id=70, state="complete"
        ),
    ),
]


@pytest.mark.parametrize("scheme", ["APIAuth", "APIAuth-HMAC-SHA256"])
@pytest.mark.parametrize(("payload", "expected"), VALID_EVENTS, ids=lambda v: str(v)[:30])
def test_every_event_type_parses_into_its_type(
    payload: dict[str, Any], expected: HoverWebhookEvent, scheme: str
) -> None:
    body = event_body(**payload)
    event = receive(by_hand(body, scheme=scheme), body)
    assert type(event) is type(expected)
    assert event == expected


def test_an_unknown_event_type_parses_into_a_generic_event() -> None:
    payload = {"event": "proposal-created", "webhook_id": 5, "proposal_id": 9, "nested": {"a": 1}}
    body = event_body(**payload)
    event = receive(by_hand(body), body)
    assert event == GenericHoverEvent(event="proposal-created", webhook_id=5, data=payload)


def test_an_unknown_event_type_without_a_webhook_id_is_still_an_event() -> None:
    event = decode_hover_event(b'{"event": "inspection-state-changed", "webhook_id": "x"}')
    assert isinstance(event, GenericHoverEvent)
    assert event.webhook_id is None
    assert event.data["webhook_id"] == "x"


def test_headers_are_found_in_any_letter_case() -> None:
    body = event_body(event="model-created", job_id=1, model_id=2)
    headers = by_hand(body)
    lower = {k.lower(): v for k, v in headers.items()}
    upper = {k.upper(): v for k, v in headers.items()}
    assert receive(lower, body) == receive(upper, body) == receive(CIMultiDict(headers), body)


# --- refusals -------------------------------------------------------------------------------


def test_a_forged_signature_is_refused() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    headers = by_hand(body)
    headers["Authorization"] = "APIAuth 230293:" + base64.b64encode(b"\0" * 20).decode()
    with pytest.raises(InvalidSignature, match="does not match HMAC-SHA1"):
        receive(headers, body)


def test_a_body_changed_after_signing_is_refused() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="failed")
    headers = by_hand(body)
    changed = body.replace(b"failed", b"complete")
    with pytest.raises(InvalidSignature, match="Content-MD5 does not match the body"):
        receive(headers, changed)


def test_a_body_changed_with_its_content_md5_is_refused() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="failed")
    headers = by_hand(body)
    changed = body.replace(b"failed", b"complete")
    headers["Content-MD5"] = md5_of(changed)
    with pytest.raises(InvalidSignature, match="does not match"):
        receive(headers, changed)


def test_a_wrong_content_md5_is_refused_even_when_signed() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="failed")
    wrong = md5_of(b"another body")
    with pytest.raises(InvalidSignature, match="Content-MD5 does not match the body"):
        receive(by_hand(body, md5=wrong), body)


def test_another_webhooks_secret_is_refused() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    with pytest.raises(InvalidSignature, match="does not match"):
        receive(by_hand(body, secret=OTHER_SECRET), body)
    with pytest.raises(InvalidSignature, match="does not match"):
        receive(by_hand(body), body, secret=OTHER_SECRET)


@pytest.mark.parametrize(
    ("skew", "word"),
    [(timedelta(minutes=5, seconds=1), "old"), (-timedelta(minutes=5, seconds=1), "future")],
)
def test_a_date_outside_the_window_is_stale(skew: timedelta, word: str) -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    with pytest.raises(StaleEvent, match=f"Date '{DATE}' is 301 s .*{word}"):
        receive(by_hand(body), body, now=NOW + skew)


@pytest.mark.parametrize(
    "skew", [timedelta(0), timedelta(minutes=5), -timedelta(minutes=5), timedelta(minutes=4)]
)
def test_a_date_within_the_window_passes(skew: timedelta) -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    assert isinstance(receive(by_hand(body), body, now=NOW + skew), JobStateChanged)


def test_the_window_is_a_parameter() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    later = NOW + timedelta(minutes=20)
    assert receive(by_hand(body), body, now=later, tolerance=timedelta(minutes=30))
    minute = timedelta(seconds=60)
    with pytest.raises(StaleEvent, match="more than the 60 s allowed"):
        receive(by_hand(body), body, now=NOW + timedelta(seconds=61), tolerance=minute)


def test_the_current_time_is_used_without_now() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    fresh = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert receive(by_hand(body, date=fresh), body, now=None)
    with pytest.raises(StaleEvent):
        receive(by_hand(body), body, now=None)  # DATE is in 2024


def test_a_missing_signature_header_is_refused() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    headers = by_hand(body)
    del headers["Authorization"]
    with pytest.raises(InvalidSignature, match="no Authorization header"):
        receive(headers, body)


@pytest.mark.parametrize(
    "value",
    ["Bearer abc", "APIAuth-HMAC-MD5 id:abc", "APIAuth", "APIAuth nocolon", "APIAuth id:", ""],
)
def test_a_signature_header_of_another_form_is_refused(value: str) -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    headers = by_hand(body)
    headers["Authorization"] = value
    with pytest.raises(InvalidSignature, match="Authorization"):
        receive(headers, body)


def test_a_signature_that_is_not_ascii_is_refused_not_crashed() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    headers = by_hand(body)
    headers["Authorization"] = "APIAuth 230293:sïgnätüre"
    with pytest.raises(InvalidSignature, match="does not match"):
        receive(headers, body)


def test_a_missing_date_is_stale() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    with pytest.raises(StaleEvent, match="no Date header"):
        receive(by_hand(body, date=None), body)


def test_an_unreadable_date_is_stale() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    with pytest.raises(StaleEvent, match="is not an HTTP date"):
        receive(by_hand(body, date="yesterday"), body)


def test_a_missing_content_md5_is_refused_unless_allowed() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    headers = by_hand(body, md5=None)
    with pytest.raises(InvalidSignature, match="no Content-MD5 header"):
        receive(headers, body)
    assert receive(headers, body, require_content_md5=False)


def test_a_missing_content_type_is_a_blank_in_the_canonical_string() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    assert receive(by_hand(body, content_type=None), body)


def test_the_proxy_path_fails_where_the_public_uri_passes() -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    headers = by_hand(body, uri="/hooks/hover?tenant=7")
    # Behind an ingress the server sees another path: signing is over the public one.
    with pytest.raises(InvalidSignature, match="request URI '/internal/hover"):
        receive(headers, body, request_uri="/internal/hover?tenant=7")
    with pytest.raises(InvalidSignature, match="request URI '/hooks/hover'"):
        receive(headers, body, request_uri="/hooks/hover")  # the query is signed too
    assert receive(headers, body, request_uri="/hooks/hover?tenant=7")
    assert receive(headers, body, request_uri="https://hooks.example.com/hooks/hover?tenant=7")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b'{"event": "job-state-changed", "job_id": 1,', "body is not JSON"),
        (b"", "body is not JSON"),
        (b'["job-state-changed"]', "JSON list, not an object"),
        (b'{"job_id": 1, "state": "complete"}', "no 'event' text"),
        (b'{"event": 3}', "no 'event' text"),
        (b'{"event": "job-state-changed", "job_id": "1", "state": "x"}', r"\$\.job_id"),
        (b'{"event": "model-state-changed", "job_id": 1, "state": "x"}', "model_id"),
        (b'{"event": "webhook-verification-code", "webhook_id": 1}', "code"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (
            b'{"event": "webhook-verification-code", "code": "abc\\nERROR forged line"}',
            "code is no printable word",
        ),
        (b'{"event": "webhook-verification-code", "code": ""}', "code is no printable word"),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_malformed(body: bytes, match: str) -> None:
    with pytest.raises(MalformedEvent, match=match):
        receive(by_hand(body), body)


def test_a_body_over_the_limit_is_refused_before_anything_else() -> None:
    body = event_body(event="x", pad="a" * 2000)
    with pytest.raises(MalformedEvent, match="larger than the 1000 allowed"):
        receive({}, body, max_body_size=1000)
    assert receive(by_hand(body), body, max_body_size=None)


def test_an_empty_secret_is_a_configuration_error() -> None:
    body = event_body(event="x")
    with pytest.raises(ConfigurationError, match="secret is empty"):
        receive(by_hand(body, secret=""), body, secret="")
    with pytest.raises(ConfigurationError):
        sign_hover_event(body, secret="", request_uri="/")


def test_validation_alone_does_not_parse() -> None:
    body = b"not json at all"
    validate_hover_signature(by_hand(body), body, secret=SECRET, request_uri=PUBLIC_URI, now=NOW)


def test_the_signer_and_the_verifier_agree() -> None:
    body = event_body(event="model-created", webhook_id=3, job_id=1, model_id=2)
    for scheme in ("APIAuth", "APIAuth-HMAC-SHA256"):
        headers = sign_hover_event(
            body, secret=SECRET, request_uri="/hooks/hover", date=NOW, scheme=scheme
        )
        assert receive(headers, body) == ModelCreated(
            event="model-created", webhook_id=3, job_id=1, model_id=2
        )
    with pytest.raises(ConfigurationError, match="not one of"):
        sign_hover_event(body, secret=SECRET, request_uri="/", scheme="APIAuth-HMAC-MD5")


# --- the messages ----------------------------------------------------------------------------


def _refusals() -> list[Callable[[], object]]:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    good = by_hand(body)
    forged = {**good, "Authorization": "APIAuth 1:AAAA"}
    no_md5 = by_hand(body, md5=None)
    return [
        lambda: receive(forged, body),
        lambda: receive(good, body + b" "),
        lambda: receive(by_hand(body, secret=OTHER_SECRET), body),
        lambda: receive(good, body, now=NOW + timedelta(hours=1)),
        lambda: receive(good, body, now=NOW - timedelta(hours=1)),
        lambda: receive({}, body),
        lambda: receive(no_md5, body),
        lambda: receive(by_hand(body, date=None), body),
        lambda: receive(by_hand(b"{", date=DATE), b"{"),
        lambda: receive(good, body, request_uri="/internal/hover"),
        lambda: receive({**good, "Authorization": "Basic " + SECRET}, body),
    ]


@pytest.mark.parametrize("refusal", _refusals())
def test_no_message_holds_the_secret_or_the_expected_signature(
    refusal: Callable[[], object],
) -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    expected = by_hand(body)["Authorization"].partition(":")[2]
    with pytest.raises(WebhookError) as caught:
        refusal()
    assert isinstance(caught.value, HoverBentleyError)
    assert str(caught.value).startswith("Hover webhook: ")
    for text in (str(caught.value), repr(caught.value), repr(caught.value.args)):
        assert SECRET not in text
        assert OTHER_SECRET not in text
        assert expected not in text
    assert caught.value.__cause__ is None


@pytest.mark.parametrize("tolerance", [300, None, timedelta(seconds=-1)])
def test_a_tolerance_that_is_no_timedelta_is_named(tolerance: Any) -> None:
    body = event_body(event="job-state-changed", job_id=1, state="complete")
    with pytest.raises(ConfigurationError, match=r"tolerance must be a datetime\.timedelta"):
        receive(by_hand(body), body, tolerance=tolerance)
