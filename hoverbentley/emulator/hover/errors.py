"""How the Hover API words its errors."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..respond import json_response


def hover_error(status: int, message: str) -> web.Response:
    """An error in Hover's ``{"error": message}`` shape."""
    return json_response({"error": message}, status=status)


def error_body(status: int) -> Any:
    """The body of an injected error."""
    return {"error": "Rate Limit Exceeded" if status == 429 else "Error"}


def int_param(value: str | None, default: int, name: str) -> int:
    """An integer query parameter; 422 when it is not one."""
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise web.HTTPUnprocessableEntity(
            text=json.dumps({"error": f"{name} must be an integer"}),
            content_type="application/json",
        ) from None
