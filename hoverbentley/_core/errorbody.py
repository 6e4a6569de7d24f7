"""Turn an error response into the matching typed exception."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import APIStatusError, ErrorDetail, InvalidParameterError, status_error_class
from .text import printable

_EXCERPT = 200
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def body_excerpt(body: bytes, limit: int = _EXCERPT) -> str:
    """A short, printable excerpt of a body for messages."""
    text = body[: limit * 4].decode("utf-8", "replace")
    text = " ".join(printable(text).split())
    return text[:limit] + ("…" if len(text) > limit else "")


def _detail(item: Any) -> ErrorDetail | None:
    if isinstance(item, Mapping):
        return ErrorDetail(
            _str(item.get("code")), _str(item.get("message")), _str(item.get("target"))
        )
    if isinstance(item, str):
        return ErrorDetail(None, item)
    return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def parse_error_body(body: bytes) -> tuple[str | None, str | None, list[ErrorDetail]]:
    """(code, message, details) from the error body shapes both services use.

    Bentley: ``{"error": {"code", "message", "target", "details": [...]}}``.
    Hover: ``{"error": "..."}``, ``{"errors": [...]}`` or ``{"message": "..."}``. Anything else,
    JSON or not, gives ``(None, None, [])``.
    """
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None, None, []
    if not isinstance(data, Mapping):
        return None, None, []
    error = data.get("error")
    if isinstance(error, Mapping):
        details = [d for d in map(_detail, error.get("details") or []) if d is not None]
        return _str(error.get("code")), _str(error.get("message")), details
    if isinstance(error, str):
        description = data.get("error_description")
        if description:
            return error, _str(description), []
        # ``{"error": "invalid_grant"}`` names a code; ``{"error": "Job 1 not found"}`` says why.
        return (error, None, []) if _CODE.fullmatch(error) else (None, error, [])
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        details = [d for d in map(_detail, errors) if d is not None]
        message = "; ".join(d.message or d.code or "" for d in details) or None
        return None, message, details
    if isinstance(errors, Mapping) and errors:
        message = "; ".join(f"{k}: {v}" for k, v in errors.items())
        return None, message, []
    message = data.get("message")
    return None, _str(message), []


def error_for_response(
    status: int,
    body: bytes,
    url: str,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
) -> APIStatusError:
    """The typed exception for an error response (the URL is redacted by the exception)."""
    code, message, details = parse_error_body(body)
    excerpt = "" if message else body_excerpt(body)
    cls = status_error_class(status)
    if status in (400, 422) and any(d.code == "InvalidParameter" for d in details):
        cls = InvalidParameterError
    return cls(
        status,
        url=url,
        code=code,
        message=message,
        details=details,
        body_excerpt=excerpt,
        method=method,
        headers=headers,
    )
