"""The HTTP transport: one client's connections, limits, retries and credentials.

It is small on purpose: :class:`~.hops.RedirectChain` sends one attempt, :mod:`.body` reads
bodies, :class:`~.health.HostHealth` tracks outages, and every decision after an attempt
(retry, renew the credentials, give up) is :func:`hoverbentley._core.attempt.decide`.
Requests go through the lean client (:mod:`.lean_client`); through an aiohttp session where
the caller gives one or asks for tracing, or where httptools is not installed.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import anyio

from .._core.attempt import Action, Budget, Decision, Outcome, decide
from .._core.errorbody import error_for_response
from .._core.urls import add_query, same_origin
from ..errors import HoverBentleyError
from ..redact import SecretScrubber, redact_url
from .bandwidth import Bandwidth
from .body import BodyStream, read_body
from .clock import now
from .config import HttpConfig
from .credentials import ApiScope
from .failures import HopFailure
from .health import HostHealth
from .hops import Hop, RedirectChain, origin_of
from .limiter import RateLimiter
from .request import Request, Response

if TYPE_CHECKING:
    import aiohttp

    from .lean_client import LeanClient

logger = logging.getLogger("hoverbentley")

_ERROR_BODY_LIMIT = 64 * 1024


class Transport:
    """The connections of one client, with its limits: the lean client's, or an aiohttp
    session (the caller's, or one of its own for tracing or without httptools)."""

    def __init__(
        self,
        config: HttpConfig,
        scope: ApiScope,
        *,
        session: aiohttp.ClientSession | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
        scrubber: SecretScrubber | None = None,
    ) -> None:
        self.config = config
        self.scope = scope
        self.scrubber = scrubber or SecretScrubber()
        self.retry_policy = config.retry_policy()
        self.health = HostHealth(config.max_outage)
        self._session = session
        self._owns_session = session is None
        self._trace_configs = tuple(trace_configs)
        self._closed = False
        rate = config.rate
        self._limiter = RateLimiter(rate, config.rate_burst) if rate else None
        self._lean: LeanClient | None = None
        self._chain = RedirectChain(
            self._client,
            scope,
            config,
            self._limiter,
            self.health,
            sender=self,
            lean=self._lean_client if self._owns_session and not trace_configs else None,
        )
        self._rng = random.Random()
        limit = config.bandwidth_limit
        #: The shared bandwidth limit of every body read through this transport, if any.
        self.bandwidth = Bandwidth(limit) if limit else None

    def __repr__(self) -> str:
        return f"Transport(base_url={self.scope.base_url!r})"

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session this transport created (idempotent; a caller's session stays open)."""
        if self._closed:
            return
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None
        if self._lean is not None:
            await self._lean.aclose()
            self._lean = None

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise HoverBentleyError("the client is closed")
        if self._session is None:
            from .session import open_session  # imports aiohttp: only where it is used

            self._session = open_session(self.config, self._trace_configs)
        return self._session

    def _lean_client(self) -> LeanClient | None:
        """The lean client (built on first use), or ``None`` where httptools is missing."""
        if self._closed:
            raise HoverBentleyError("the client is closed")
        if self._lean is None and lean_available():
            from .lean_client import LeanClient

            self._lean = LeanClient(self.config)
        return self._lean

    def is_api_url(self, url: str) -> bool:
        """Whether ``url`` is on the provider's API origin."""
        return same_origin(url, self.scope.base_url)

    def api_url(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> str:
        """An absolute URL for ``path_or_url`` with ``params`` appended."""
        url = path_or_url
        if not url.startswith(("http://", "https://")):
            url = self.scope.base_url.rstrip("/") + "/" + url.lstrip("/")
        if params:
            url = add_query(url, {k: _param(v) for k, v in params.items() if v is not None})
        return url

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        repeatable: bool = False,
    ) -> Response:
        """Send a request and read its whole body; raise a typed error for any failure.

        Retries follow the client's policy (``repeatable``: a POST that may be sent again,
        retried as a GET is); a 401 renews the credentials once.
        """
        request = Request(
            method,
            self.api_url(url, params),
            json,
            form,
            headers,
            authenticated=authenticated,
            repeatable=repeatable,
        )
        hop, body = await self._exchange(request, read=True)
        return Response(hop.response.status, hop.response.headers, body, hop.url)

    @asynccontextmanager
    async def stream(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        started: float | None = None,
    ) -> AsyncIterator[BodyStream]:
        """GET ``url`` and yield the open response once its headers arrived with a 2xx status.

        Failures before the body are retried; errors while reading the body are raised from
        :meth:`BodyStream.chunks` as :class:`APIConnectionError` for the caller to resume.
        ``started`` (the loop's time when a file's first attempt began) makes the
        ``retry_for`` budget span every attempt of one file.
        """
        request = Request(
            "GET", self.api_url(url), headers=headers, authenticated=authenticated, download=True
        )
        hop, _ = await self._exchange(request, read=False, started=started)
        try:
            yield BodyStream(hop.response, hop.url, self.config.stall_timeout, self.bandwidth)
        finally:
            hop.response.release()

    def body_failed(self, url: str) -> bool:
        """Count a failed streamed body from ``url`` against its host; whether the host is down."""
        host = origin_of(url)
        self.health.failed(host)
        return self.health.is_down(host)

    async def _exchange(
        self, request: Request, *, read: bool, started: float | None = None
    ) -> tuple[Hop, bytes]:
        budget = Budget(started=now() if started is None else started)
        auth = self.scope.auth
        while True:
            hop: Hop | None = None
            failure: HopFailure | None = None
            body = b""
            try:
                hop = await self._chain.send(request)
                body = await self._read(hop, read)
                outcome = Outcome(
                    hop.origin,
                    hop.response.status,
                    retry_after=hop.response.headers.get("Retry-After"),
                    on_api=hop.on_api,
                    credential_sent=hop.credential is not None,
                    host_down=self.health.is_down(hop.origin),
                )
            except HopFailure as exc:
                failure = exc
                outcome = Outcome(
                    exc.origin, sent=exc.sent, host_down=self.health.is_down(exc.origin)
                )
            decision = decide(
                request.method,
                outcome,
                budget,
                self.retry_policy,
                now=now(),
                wall_time=time.time(),
                can_refresh=auth is not None,
                repeatable=request.repeatable,
                rng=self._rng,
            )
            if decision.action is Action.DONE:
                assert hop is not None
                return hop, body
            if decision.action is Action.REFRESH:
                assert hop is not None and hop.credential is not None and auth is not None
                budget = replace(budget, refreshed=True)
                if await auth.refresh(self, hop.credential):
                    continue
            elif decision.action is Action.RETRY:
                if decision.spends:
                    budget = budget.spend(outcome.origin)
                await self._pause(request, outcome, decision, budget)
                continue
            if failure is not None:
                raise failure.error from None
            assert hop is not None
            raise self._status_error(request, hop, body)

    async def _read(self, hop: Hop, read: bool) -> bytes:
        response = hop.response
        error = response.status >= 300
        if not (read or error):
            return b""
        limit = _ERROR_BODY_LIMIT if error else self.config.max_body_bytes
        try:
            return await read_body(
                response, hop.url, hop.origin, limit=limit, timeout=self.config.read_timeout
            )
        except HopFailure:
            self.health.failed(hop.origin)
            raise
        finally:
            response.release()

    def _status_error(self, request: Request, hop: Hop, body: bytes) -> HoverBentleyError:
        auth = self.scope.auth
        if auth is not None:
            for secret in auth.secrets():
                self.scrubber.add(secret)
        scrubbed = self.scrubber.scrub(body.decode("utf-8", "replace")).encode()
        return error_for_response(
            hop.response.status, scrubbed, hop.url, request.method, hop.response.headers
        )

    async def _pause(
        self, request: Request, outcome: Outcome, decision: Decision, budget: Budget
    ) -> None:
        if decision.rate_limited and self._limiter is not None:
            self._limiter.pause(decision.delay)
        what = f"HTTP {outcome.status}" if outcome.status is not None else "connection failed"
        if decision.spends:
            logger.info(
                "retrying %s %s in %.2f s (%s; retry %d of %d at %s)",
                request.method,
                redact_url(request.url),
                decision.delay,
                what,
                budget.retries.get(outcome.origin, 0),
                self.retry_policy.max_retries,
                outcome.origin,
            )
        await anyio.sleep(decision.delay)


@functools.cache
def lean_available() -> bool:
    """Whether the lean client can be built (its parser, httptools, is installed)."""
    return importlib.util.find_spec("httptools") is not None


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
