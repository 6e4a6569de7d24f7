"""One attempt of a request: send it and follow its redirects, credentials only to the API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .._core.urls import REDIRECT_STATUSES, add_query, origin_key, redirect_target, wire_url
from ..redact import redact_url
from .body import Received
from .config import HttpConfig
from .credentials import ApiScope, Sender
from .failures import HopFailure, connect_errors, exchange_errors, permanent_failure, wrap_error
from .health import SLOW_ANSWER, HostHealth
from .limiter import RateLimiter
from .request import Request

if TYPE_CHECKING:
    import aiohttp

    from .lean_client import LeanClient

logger = logging.getLogger("hoverbentley")


#: ``scheme://host:port`` of a URL: the key of a host's health and retry budget (cached by
#: scheme and authority, computed once per host rather than per hop).
origin_of = origin_key


@dataclass(frozen=True)
class Hop:
    """The response an attempt ended with, where, and the credential sent on its first hop."""

    response: Received
    url: str
    origin: str
    on_api: bool
    credential: str | None


class RedirectChain:
    """Sends a request and follows its redirects by hand.

    The API's credentials, parameters and headers go to the API origin only; each hop waits
    for the rate limiter (API hops) and for its host to be up (see :class:`HostHealth`).
    """

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        scope: ApiScope,
        config: HttpConfig,
        limiter: RateLimiter | None,
        health: HostHealth,
        sender: Sender,
        lean: Callable[[], LeanClient | None] | None = None,
    ) -> None:
        self._session = session
        self._scope = scope
        self._max_redirects = config.max_redirects
        self._limiter = limiter
        self._health = health
        self._sender = sender
        self._lean = lean

    async def send(self, request: Request) -> Hop:
        """The final response of ``request`` (after redirects), its body unread."""
        scope = self._scope
        on_api = scope.covers(request.url)
        if on_api:
            request = request.at(add_query(request.url, scope.params))
        visited = [request.url]
        first_credential: str | None = None
        first = True
        while True:
            url = request.url
            host = origin_key(url)
            await self._health.admit(host, url)
            headers: dict[str, str] = {}
            credential: str | None = None
            if on_api:
                headers.update(scope.headers)
                if self._limiter is not None:
                    await self._limiter.acquire()
                if request.authenticated and scope.auth is not None:
                    credential = await scope.auth.authorization(self._sender)
                    headers["Authorization"] = credential
            if request.headers:
                headers.update(request.headers)
            if first:
                first_credential, first = credential, False
            response = await self._send_one(request, headers, host)
            if response.status not in REDIRECT_STATUSES:
                return Hop(response, url, host, on_api, first_credential)
            location = response.headers.get("Location")
            response.release()
            target = redirect_target(url, location, visited, self._max_redirects)
            on_api = scope.covers(target)
            if on_api:
                target = add_query(target, scope.params)
            request = request.redirected(response.status, target)
            visited.append(target)

    async def _send_one(self, request: Request, headers: dict[str, str], host: str) -> Received:
        url = request.url
        if logger.isEnabledFor(logging.DEBUG):  # redacting costs more than the check
            logger.debug("%s %s", request.method, redact_url(url))
        note = asyncio.get_running_loop().call_later(
            SLOW_ANSWER, _note_slow_answer, request.method, url
        )
        try:
            lean = self._lean() if self._lean is not None else None
            with self._health.awaiting(host):
                response: Received
                if lean is not None:
                    response = await self._send_lean(lean, request, headers)
                else:
                    response = await self._send_aiohttp(request, headers)
        except connect_errors() as exc:
            permanent = permanent_failure(
                exc, url, host, first_contact=self._health.first_contact(host)
            )
            if permanent is not None:
                raise permanent from None
            self._health.failed(host)
            raise HopFailure(wrap_error(exc, url, sent=False), sent=False, origin=host) from None
        except exchange_errors() as exc:
            self._health.failed(host)
            raise HopFailure(wrap_error(exc, url, sent=True), sent=True, origin=host) from None
        finally:
            note.cancel()
        if response.status >= 500:
            self._health.failed(host)
        else:
            self._health.answered(host)
        return response

    async def _send_lean(
        self, lean: LeanClient, request: Request, headers: dict[str, str]
    ) -> Received:
        payload = request.payload()
        body = None
        if payload is not None:
            body, content_type = payload
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = content_type
        # A file is kept as the bytes stored (its request asks for identity:
        # ranges.resume_headers); any other body is asked for compressed and inflated.
        return await lean.request(
            request.method, wire_url(request.url), headers, body, decompress=not request.download
        )

    async def _send_aiohttp(self, request: Request, headers: dict[str, str]) -> Received:
        from yarl import URL  # with aiohttp: only a caller's session or tracing needs it

        return await self._session().request(
            request.method,
            URL(wire_url(request.url), encoded=True),
            json=request.json,
            data=request.form,
            headers=headers,
            allow_redirects=False,
            auto_decompress=not request.download,
        )


def _note_slow_answer(method: str, url: str) -> None:
    """The ``-v`` line of a request that has waited :data:`SLOW_ANSWER` seconds for its
    response (a server that took the connection and says nothing)."""
    logger.info(
        "waiting for a response from %s (%s %s sent %.0f s ago)",
        urlsplit(url).netloc,
        method,
        redact_url(url),
        SLOW_ANSWER,
    )
