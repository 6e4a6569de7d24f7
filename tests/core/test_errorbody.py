from __future__ import annotations

import json

import pytest

from hoverbentley._core.errorbody import error_for_response, parse_error_body
from hoverbentley.errors import (
    APIStatusError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)
from tests.seeds import bentley_samples


def test_bentley_error_bodies_from_the_seed() -> None:
    bodies = bentley_samples()
    error = error_for_response(
        422, json.dumps(bodies["422"]).encode(), "https://api/jobs?$top=5000"
    )
    assert isinstance(error, UnprocessableEntityError)
    assert error.code == "InvalidRealityModelingRequest"
    assert error.api_message == "Cannot find jobs."
    assert error.details[0].target == "$Top"
    assert error.details[0].code == "InvalidParameter"
    assert str(error).startswith(
        "GET HTTP 422 InvalidRealityModelingRequest: Cannot find jobs. ($Top: The $top query"
        " parameter value must be a positive integer that does not exceed 1000.)"
    )
    auth = error_for_response(401, json.dumps(bodies["401"]).encode(), "https://api/jobs")
    assert isinstance(auth, AuthenticationError)
    assert auth.code == "HeaderNotFound"


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b'{"error": "invalid_grant"}', "invalid_grant", None),
        (b'{"error": "Job 1 not found"}', None, "Job 1 not found"),
        (
            b'{"error": "invalid_grant", "error_description": "expired"}',
            "invalid_grant",
            "expired",
        ),
        (b'{"errors": ["current_user_email is required"]}', None, "current_user_email is required"),
        (b'{"errors": {"search": "too short"}}', None, "search: too short"),
        (b'{"message": "Rate Limit Exceeded"}', None, "Rate Limit Exceeded"),
        (b"<html>Bad gateway</html>", None, None),
        (b"", None, None),
        (b"[1, 2]", None, None),
    ],
)
def test_hover_and_other_bodies(body: bytes, code: str | None, message: str | None) -> None:
    got_code, got_message, _ = parse_error_body(body)
    assert (got_code, got_message) == (code, message)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (418, APIStatusError),
    ],
)
def test_status_classes(status: int, cls: type[APIStatusError]) -> None:
    error = error_for_response(status, b"<html><b>teapot</b>\x00\x01</html>", "https://h/x")
    assert type(error) is cls
    assert error.status_code == status
    assert "teapot" in str(error)
    assert "\x00" not in str(error)


def test_error_url_is_redacted() -> None:
    error = error_for_response(
        403, b"", "https://store/obj?X-Amz-Signature=abcdef123456&sig=zzz&keep=1"
    )
    assert "abcdef123456" not in str(error)
    assert "zzz" not in str(error)
    assert "keep=1" in str(error)
