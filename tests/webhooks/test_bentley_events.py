"""Bentley iTwin Webhooks v2 deliveries: verification (HMAC-SHA256 of the raw body) and the
typed envelope and content, with no I/O.

The oracle of the known vector is computed here by hand with hmac/hashlib, and pinned to a value
computed once with ``openssl dgst``, so it is not a copy of the code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from multidict import CIMultiDict

from hoverbentley.bentley import (
    BentleyWebhookEvent,
    GenericBentleyEvent,
    JobCompletedContent,
    JobCompletedV2Content,
    RealityAnalysisJobCompletedV1,
    RealityConversionJobCompletedV1,
    RealityModelingJobCompletedV1,
    RealityModelingJobCompletedV2,
    bentley_event_from_http,
    decode_bentley_event,
    sign_bentley_event,
    validate_bentley_signature,
)
from hoverbentley.errors import (
    ConfigurationError,
    HoverBentleyError,
    InvalidSignature,
    MalformedEvent,
    StaleEvent,
    WebhookError,
)

SECRET = "bentley-test-secret-0123456789abcdef"
OTHER_SECRET = "another-webhook-secret-fedcba9876543210"
NOW = datetime(2024, 3, 5, 12, 0, 0, tzinfo=timezone.utc)
JOB = "79590d08-1281-418b-8920-e4413412884e"
ENVELOPE = {
    "enqueuedDateTime": "3/5/2024 12:00:00 PM",
    "iTwinId": "ce40a55a-6954-4de3-85c7-f796c3e423d9",
    "messageId": "32369e4b-c9ff-47e4-b422-83b97247ce5b",
    "webhookId": "7da4ba7e-3a35-4d97-a1b0-6d453aa97493",
}

KNOWN_BODY = (
    b'{"content":{"jobId":"79590d08-1281-418b-8920-e4413412884e","state":"Success"},'
    b'"eventType":"realityModeling.jobCompleted.v2","enqueuedDateTime":"3/5/2024 12:00:00 PM",'
    b'"iTwinId":"ce40a55a-6954-4de3-85c7-f796c3e423d9",'
    b'"messageId":"32369e4b-c9ff-47e4-b422-83b97247ce5b",'
    b'"webhookId":"7da4ba7e-3a35-4d97-a1b0-6d453aa97493"}'
)
# printf '%s' "$KNOWN_BODY" | openssl dgst -sha256 -hmac "$SECRET"
KNOWN_SIGNATURE = "6811629d20bbb4922b06bac08435390cbfcfb9af0b652d64bdff0e08acd875e9"


def by_hand(body: bytes, *, secret: str = SECRET) -> dict[str, str]:
    """The headers of a delivery, signed here with hmac/hashlib alone."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Signature": f"sha256={digest}"}


def receive(headers: Any, body: bytes, **kwargs: Any) -> Any:
    kwargs.setdefault("secret", SECRET)
    kwargs.setdefault("now", NOW)
    return bentley_event_from_http(headers, body, **kwargs)


def event_body(event_type: str, content: Any, **envelope: Any) -> bytes:
    return json.dumps({"content": content, "eventType": event_type, **envelope}).encode()


# --- the known vector: the oracle is hmac/hashlib and openssl, not the code under test -------


def test_the_hand_computed_oracle_matches_openssl() -> None:
    assert by_hand(KNOWN_BODY)["Signature"] == f"sha256={KNOWN_SIGNATURE}"


def test_a_known_vector_verifies_and_parses() -> None:
    event = receive({"Signature": f"sha256={KNOWN_SIGNATURE}"}, KNOWN_BODY)
    assert event == RealityModelingJobCompletedV2(
        event_type="realityModeling.jobCompleted.v2",
        content=JobCompletedV2Content(job_id=JOB, state="Success"),
        enqueued_date_time="3/5/2024 12:00:00 PM",
        i_twin_id="ce40a55a-6954-4de3-85c7-f796c3e423d9",
        message_id="32369e4b-c9ff-47e4-b422-83b97247ce5b",
        webhook_id="7da4ba7e-3a35-4d97-a1b0-6d453aa97493",
    )
    assert event.enqueued_at == NOW


def test_the_signer_reproduces_the_known_vector() -> None:
    assert sign_bentley_event(KNOWN_BODY, secret=SECRET) == {
        "Content-Type": "application/json",
        "Signature": f"sha256={KNOWN_SIGNATURE}",
    }


def test_an_upper_case_hex_signature_verifies() -> None:
    assert receive({"Signature": f"SHA256={KNOWN_SIGNATURE.upper()}"}, KNOWN_BODY)


# --- every event type ----------------------------------------------------------------------


VALID_EVENTS: list[tuple[str, dict[str, Any], type[BentleyWebhookEvent], Any]] = [
    (
        "realityModeling.jobCompleted.v2",
        {"jobId": JOB, "state": "Failed"},
        RealityModelingJobCompletedV2,
        JobCompletedV2Content(job_id=JOB, state="Failed"),
    ),
    (
        "realityModeling.jobCompleted.v1",
        {"jobId": JOB},
        RealityModelingJobCompletedV1,
        JobCompletedContent(job_id=JOB),
    ),
    (
        "realityAnalysis.jobCompleted.v1",
        {"jobId": "7f99b1a1-30cd-4f7b-8a4a-62d7f7f7b56a"},
        RealityAnalysisJobCompletedV1,
        JobCompletedContent(job_id="7f99b1a1-30cd-4f7b-8a4a-62d7f7f7b56a"),
    ),
    (
        "realityConversion.jobCompleted.v1",
        {"jobId": "9f5e8bb1-e3e1-4037-8d83-e08d6d07d9cc", "addedLater": True},
        RealityConversionJobCompletedV1,
        JobCompletedContent(job_id="9f5e8bb1-e3e1-4037-8d83-e08d6d07d9cc"),
    ),
]


@pytest.mark.parametrize(("event_type", "content", "cls", "expected"), VALID_EVENTS)
def test_every_event_type_parses_into_its_type(
    event_type: str, content: dict[str, Any], cls: type[BentleyWebhookEvent], expected: Any
) -> None:
    body = event_body(event_type, content, **ENVELOPE)
    event = receive(by_hand(body), body)
    assert type(event) is cls
    assert event.event_type == event_type
    assert event.content == expected
    assert event.message_id == ENVELOPE["messageId"]
    assert event.webhook_id == ENVELOPE["webhookId"]
    assert event.i_twin_id == ENVELOPE["iTwinId"]


@pytest.mark.parametrize(
    "content", [{"imodelId": "72640bf2", "userId": "e5c7ae4f"}, None, [1, "two"], "text"]
)
def test_an_unknown_event_type_parses_into_a_generic_event_with_the_raw_content(
    content: Any,
) -> None:
    body = event_body("iModels.iModelDeleted.v1", content, **ENVELOPE)
    event = receive(by_hand(body), body)
    assert type(event) is GenericBentleyEvent
    assert event.event_type == "iModels.iModelDeleted.v1"
    assert event.content == content
    assert event.message_id == ENVELOPE["messageId"]


def test_an_envelope_with_only_an_event_type_parses() -> None:
    event = decode_bentley_event(
        b'{"eventType": "realityModeling.jobCompleted.v1", "content": {"jobId": "j"}}'
    )
    assert event == RealityModelingJobCompletedV1(
        event_type="realityModeling.jobCompleted.v1", content=JobCompletedContent(job_id="j")
    )
    assert event.enqueued_at is None


def test_headers_are_found_in_any_letter_case() -> None:
    headers = by_hand(KNOWN_BODY)
    lower = {k.lower(): v for k, v in headers.items()}
    upper = {k.upper(): v for k, v in headers.items()}
    expected = receive(headers, KNOWN_BODY)
    assert receive(lower, KNOWN_BODY) == receive(upper, KNOWN_BODY) == expected
    assert receive(CIMultiDict(headers), KNOWN_BODY) == expected


# --- refusals -------------------------------------------------------------------------------


def test_a_forged_signature_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="does not match HMAC-SHA256"):
        receive({"Signature": "sha256=" + "0" * 64}, KNOWN_BODY)


def test_a_body_changed_after_signing_is_refused() -> None:
    changed = KNOWN_BODY.replace(b"Success", b"Failed")
    with pytest.raises(InvalidSignature, match="body altered after it was signed"):
        receive(by_hand(KNOWN_BODY), changed)


def test_another_webhooks_secret_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="does not match"):
        receive(by_hand(KNOWN_BODY, secret=OTHER_SECRET), KNOWN_BODY)
    with pytest.raises(InvalidSignature, match="does not match"):
        receive(by_hand(KNOWN_BODY), KNOWN_BODY, secret=OTHER_SECRET)


def test_a_missing_signature_header_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="no Signature header"):
        receive({"Content-Type": "application/json"}, KNOWN_BODY)


@pytest.mark.parametrize(
    "value",
    [
        f"sha1={KNOWN_SIGNATURE}",
        KNOWN_SIGNATURE,
        f"md5={KNOWN_SIGNATURE}",
        "",
        "sha256=",
        "sha256=not hex ü",
    ],
)
def test_a_signature_header_of_another_form_is_refused(value: str) -> None:
    with pytest.raises(InvalidSignature, match="Signature header"):
        receive({"Signature": value}, KNOWN_BODY)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b'{"eventType": "realityModeling.jobCompleted.v2", "content": {', "body is not JSON"),
        (b"", "body is not JSON"),
        (b"[]", "JSON list, not an object"),
        (b'{"content": {"jobId": "j"}}', "no 'eventType' text"),
        (b'{"eventType": null}', "no 'eventType' text"),
        (b'{"eventType": "realityModeling.jobCompleted.v1"}', "content"),
        (
            b'{"eventType": "realityModeling.jobCompleted.v2", "content": {"jobId": "j"}}',
            "state",
        ),
        (
            b'{"eventType": "realityAnalysis.jobCompleted.v1", "content": {"jobId": 7}}',
            r"\$\.content\.jobId",
        ),
        (b'{"eventType": "other.v1", "iTwinId": 7}', r"\$\.iTwinId"),
        (b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, "nested too deeply"),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_malformed(body: bytes, match: str) -> None:
    with pytest.raises(MalformedEvent, match=match):
        receive(by_hand(body), body)


def test_a_body_over_the_limit_is_refused_before_anything_else() -> None:
    with pytest.raises(MalformedEvent, match="larger than the 100 allowed"):
        receive({}, KNOWN_BODY, max_body_size=100)
    assert receive(by_hand(KNOWN_BODY), KNOWN_BODY, max_body_size=None)


def test_an_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="secret is empty"):
        receive(
            {"Signature": "sha256=" + hmac.new(b"", KNOWN_BODY, "sha256").hexdigest()},
            KNOWN_BODY,
            secret="",
        )
    with pytest.raises(ConfigurationError):
        sign_bentley_event(KNOWN_BODY, secret="")


def test_validation_alone_does_not_parse() -> None:
    validate_bentley_signature(by_hand(b"not json"), b"not json", secret=SECRET)


def test_the_signer_and_the_verifier_agree() -> None:
    body = event_body("realityConversion.jobCompleted.v1", {"jobId": "c"})
    event = receive(sign_bentley_event(body, secret=SECRET), body)
    assert event.content == JobCompletedContent(job_id="c")


# --- the enqueuedDateTime window (off unless asked for) --------------------------------------


def test_no_time_is_checked_without_a_tolerance() -> None:
    assert receive(by_hand(KNOWN_BODY), KNOWN_BODY, now=NOW + timedelta(days=400))


@pytest.mark.parametrize(
    ("skew", "word"),
    [(timedelta(minutes=5, seconds=1), "old"), (-timedelta(minutes=5, seconds=1), "future")],
)
def test_an_enqueued_time_outside_the_window_is_stale(skew: timedelta, word: str) -> None:
    with pytest.raises(
        StaleEvent, match=f"enqueuedDateTime '3/5/2024 12:00:00 PM' is 301 s .*{word}"
    ):
        receive(by_hand(KNOWN_BODY), KNOWN_BODY, now=NOW + skew, tolerance=timedelta(minutes=5))


@pytest.mark.parametrize("skew", [timedelta(0), timedelta(minutes=5), -timedelta(minutes=5)])
def test_an_enqueued_time_within_the_window_passes(skew: timedelta) -> None:
    assert receive(by_hand(KNOWN_BODY), KNOWN_BODY, now=NOW + skew, tolerance=timedelta(minutes=5))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11/3/2023 8:07:01 PM", datetime(2023, 11, 3, 20, 7, 1, tzinfo=timezone.utc)),
        ("2024-03-05T12:00:00Z", NOW),
        ("2024-03-05T12:00:00.1234567+00:00", NOW + timedelta(microseconds=123456)),
    ],
)
def test_an_enqueued_time_in_either_format_is_read(text: str, expected: datetime) -> None:
    body = event_body("x.y.v1", {}, enqueuedDateTime=text)
    assert (
        receive(by_hand(body), body, now=expected, tolerance=timedelta(0)).enqueued_at == expected
    )


def test_a_missing_or_unreadable_enqueued_time_is_stale_when_checked() -> None:
    body = event_body("x.y.v1", {})
    with pytest.raises(StaleEvent, match="no enqueuedDateTime"):
        receive(by_hand(body), body, tolerance=timedelta(minutes=5))
    body = event_body("x.y.v1", {}, enqueuedDateTime="soon")
    with pytest.raises(StaleEvent, match="'soon' is not a date and time"):
        receive(by_hand(body), body, tolerance=timedelta(minutes=5))
    assert receive(by_hand(body), body).enqueued_at is None


# --- the messages ----------------------------------------------------------------------------


def _refusals() -> list[Callable[[], object]]:
    good = by_hand(KNOWN_BODY)
    five = timedelta(minutes=5)
    return [
        lambda: receive({"Signature": "sha256=" + "0" * 64}, KNOWN_BODY),
        lambda: receive(good, KNOWN_BODY + b" "),
        lambda: receive(by_hand(KNOWN_BODY, secret=OTHER_SECRET), KNOWN_BODY),
        lambda: receive({}, KNOWN_BODY),
        lambda: receive({"Signature": SECRET}, KNOWN_BODY),
        lambda: receive(good, KNOWN_BODY, now=NOW + timedelta(hours=1), tolerance=five),
        lambda: receive(good, KNOWN_BODY, now=NOW - timedelta(hours=1), tolerance=five),
        lambda: receive(by_hand(b"{"), b"{"),
        lambda: receive(by_hand(b'{"eventType": 1}'), b'{"eventType": 1}'),
    ]


@pytest.mark.parametrize("refusal", _refusals())
def test_no_message_holds_the_secret_or_the_expected_signature(
    refusal: Callable[[], object],
) -> None:
    with pytest.raises(WebhookError) as caught:
        refusal()
    assert isinstance(caught.value, HoverBentleyError)
    assert str(caught.value).startswith("Bentley webhook: ")
    for text in (str(caught.value), repr(caught.value), repr(caught.value.args)):
        assert SECRET not in text
        assert OTHER_SECRET not in text
        assert KNOWN_SIGNATURE not in text
    assert caught.value.__cause__ is None


@pytest.mark.parametrize("tolerance", [300, "5m", timedelta(seconds=-1)])
def test_a_tolerance_that_is_no_timedelta_is_named(tolerance: Any) -> None:
    body = event_body("iModels.Changeset", {}, enqueuedDateTime="Tue, 15 Nov 1994 08:12:31 GMT")
    with pytest.raises(ConfigurationError, match=r"tolerance must be a datetime\.timedelta"):
        receive(by_hand(body), body, tolerance=tolerance)
