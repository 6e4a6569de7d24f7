"""A request as a value, and a complete response."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .._core.urls import redirect_method


@dataclass(frozen=True)
class Request:
    """One request: method, absolute URL, body (``json`` or ``form``) and extra headers.

    ``authenticated`` says whether the API credentials may be sent (to the API origin only);
    ``download``: a GET whose body is a file, sent on the download leg where there is one.
    """

    method: str
    url: str
    json: Any = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None
    authenticated: bool = True
    download: bool = False

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
