"""Error messages a person reads: the server's explanation kept, nothing said twice."""

from __future__ import annotations

import pytest

from hoverbentley._core.errorbody import error_for_response
from hoverbentley.errors import AuthenticationError, NotFoundError, UnprocessableEntityError


@pytest.mark.parametrize(
    ("status", "body", "cls", "text", "code"),
    [
        (
            401,
            b'{"error": "The access token is invalid or has expired"}',
            AuthenticationError,
            "GET HTTP 401: The access token is invalid or has expired [https://h/x]",
            None,
        ),
        (
            404,
            b'{"error": "Job 1 not found"}',
            NotFoundError,
            "GET HTTP 404: Job 1 not found",
            None,
        ),
        (
            422,
            b'{"error": {"code": "InvalidRealityModelingRequest", "message": "Cannot find jobs.",'
            b' "details": [{"code": "InvalidParameter", "target": "$filter",'
            b' "message": "The $filter is not valid at position 6."}]}}',
            UnprocessableEntityError,
            "GET HTTP 422 InvalidRealityModelingRequest: Cannot find jobs."
            " ($filter: The $filter is not valid at position 6.)",
            "InvalidRealityModelingRequest",
        ),
        (
            401,
            b'{"error": "invalid_token"}',
            AuthenticationError,
            "GET HTTP 401 invalid_token",
            "invalid_token",
        ),
    ],
)
def test_the_message_says_what_the_server_said_once(
    status: int, body: bytes, cls: type[Exception], text: str, code: str | None
) -> None:
    error = error_for_response(status, body, "https://h/x")
    assert type(error) is cls
    assert str(error).startswith(text)
    assert error.code == code
