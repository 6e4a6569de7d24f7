"""A request as a value, and a complete response."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from .._core.urls import redirect_method


@dataclass(frozen=True)
class Request:
    """One request: method, absolute URL, body (``json`` or ``form``) and extra headers.

    ``authenticated`` says whether the API credentials may be sent (to the API origin only);
    ``download``: a GET whose body is a file, kept as sent (never decompressed);
    ``repeatable``: sending it twice does no harm whatever its method (a token grant).
    """

    method: str
    url: str
    json: Any = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None
    authenticated: bool = True
    download: bool = False
    repeatable: bool = False

    def payload(self) -> tuple[bytes, str] | None:
        """The body as sent and its ``Content-Type``, or ``None`` without one (``json`` is
        encoded as aiohttp's ``json=`` does, ``form`` as its ``data=`` does a mapping)."""
        if self.json is not None:
            return jsonlib.dumps(self.json).encode(), "application/json"
        if self.form is not None:
            return urlencode(self.form).encode(), "application/x-www-form-urlencoded"
        return None

    def at(self, url: str) -> Request:
        """The same request sent to ``url``."""
        return replace(self, url=url)

    def redirected(self, status: int, target: str) -> Request:
        """The request to send to ``target`` after a redirect with ``status``."""
        # Built directly: dataclasses.replace costs several times more, once per redirect.
        method = redirect_method(status, self.method)
        if method != self.method:
            return Request(
                method, target, None, None, self.headers, self.authenticated, self.download
            )
        return Request(
            method, target, self.json, self.form, self.headers, self.authenticated, self.download
        )


@dataclass(frozen=True)
class Response:
    """A complete response: status, headers, body and the final URL."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
