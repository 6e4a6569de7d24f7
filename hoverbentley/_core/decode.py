"""Decode JSON bodies into Structs, naming the URL and JSON path on failure."""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from ..errors import DecodeError, UnreadableBodyError
from .errorbody import body_excerpt

T = TypeVar("T")

_PATH = re.compile(r" - at `(?P<path>[^`]*)`$")


def decode_json(decoder: msgspec.json.Decoder[T], body: bytes, url: str) -> T:
    """Decode ``body``; raise :class:`DecodeError` naming ``url`` and the offending JSON path."""
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _PATH.search(text)
        path = match.group("path") if match else "$"
        reason = _PATH.sub("", text)
        raise DecodeError(
            f"response is not the documented shape at {path}: {reason}", url=url, path=path
        ) from None
    except msgspec.DecodeError as exc:
        if not body.strip():
            what = "empty body where JSON was expected"
        else:
            what = f"body is not valid JSON ({exc}); it starts with: {body_excerpt(body, 80)!r}"
        raise UnreadableBodyError(what, url=url) from None
