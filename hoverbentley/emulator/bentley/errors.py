"""How the Bentley APIs word their errors."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..respond import json_response

RATE_LIMITED = {
    "error": {
        "code": "RateLimitExceeded",
        "message": "The client sent more requests than allowed by this API for the current"
        " tier of the client.",
    }
}


def bentley_error(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An error in the ``{"error": {code, message, details}}`` shape."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json_response({"error": error}, status=status, headers=headers)


def invalid(message: str, target: str, detail: str, code: str = "InvalidParameter") -> web.Response:
    """A 422 ``InvalidRealityModelingRequest`` naming the wrong parameter."""
    return bentley_error(
        422,
        "InvalidRealityModelingRequest",
        message,
        [{"code": code, "message": detail, "target": target}],
    )


def error_body(status: int) -> Any:
    """The body of an injected error."""
    if status == 429:
        return RATE_LIMITED
    return {"error": {"code": "InternalServerError", "message": "Internal error"}}
