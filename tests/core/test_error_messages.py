"""Error messages a person reads: the server's explanation kept, nothing said twice."""

from __future__ import annotations

import pytest

from hoverbentley._core.errorbody import error_for_response
from hoverbentley.errors import (
    AuthenticationError,
    BadRequestError,
    InvalidParameterError,
    NotFoundError,
    UnprocessableEntityError,
)


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
            InvalidParameterError,
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


def test_a_refused_parameter_is_one_error_in_v1_and_v2() -> None:
    body = (
        b'{"error": {"code": "InvalidRealityModelingRequest", "message": "Cannot find jobs.",'
        b' "details": [{"code": "InvalidParameter", "target": "$Top", "message": "bad $top"}]}}'
    )
    v1 = error_for_response(422, body, "https://h/contextcapture/jobs")
    v2 = error_for_response(400, body, "https://h/reality-modeling/jobs")
    assert type(v1) is type(v2) is InvalidParameterError
    assert isinstance(v1, UnprocessableEntityError) and isinstance(v2, BadRequestError)
    plain = error_for_response(422, b'{"error": {"code": "X", "message": "no"}}', "https://h/x")
    assert type(plain) is UnprocessableEntityError
