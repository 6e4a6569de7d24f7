"""The HTTP transport: the only module that uses aiohttp's client.

It sends requests with retries, rate limiting, credentials and manual redirects, and streams
bodies. Every decision it takes (retry or not, how long to wait, where a redirect leads) is
made by the pure functions in :mod:`hoverbentley._core`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import anyio
from yarl import URL

from ._core.errorbody import error_for_response
from ._core.urls import (
    REDIRECT_STATUSES,
    add_query,
    redirect_method,
    redirect_target,
    same_origin,
    wire_url,
)
from ._limiter import RateLimiter
from .config import HttpConfig
from .errors import APIConnectionError, APIError, APITimeoutError, HoverBentleyError
from .redact import SecretScrubber, redact_url

logger = logging.getLogger("hoverbentley")

_ERROR_BODY_LIMIT = 64 * 1024


class Auth(Protocol):
    """Supplies the ``Authorization`` header for requests to the API host."""

    async def authorization(self, transport: Transport) -> str:
        """The header value to send now (fetching or renewing a token if needed)."""
        ...

    async def refresh(self, transport: Transport, rejected: str) -> bool:
        """The server answered 401 to ``rejected``: renew, and say whether a retry may help."""
        ...


@dataclass
class ApiScope:
    """What applies only to requests to the provider's API origin.

    Credentials, the extra query parameters (Hover's current user) and default headers are
    sent to ``base_url``'s origin and never to a host that a redirect leads to.
    """

    base_url: str
    auth: Auth | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    """A complete response: status, headers, body and the final URL."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str


class BodyStream:
    """An open response whose body is read in chunks."""

    def __init__(self, response: aiohttp.ClientResponse, url: str) -> None:
        self._response = response
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self.url = url

    @property
    def content_length(self) -> int | None:
        return self._response.content_length

    async def chunks(self, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most ``size`` bytes, as they arrive."""
        # One buffered piece at a time: joining pieces (as ``iter_chunked`` does) copies
        # every byte once more, which the writer batches away anyway.
        try:
            async for chunk, _ in self._response.content.iter_chunks():
                if len(chunk) > size:
                    for start in range(0, len(chunk), size):
                        yield chunk[start : start + size]
                elif chunk:
                    yield chunk
        except Exception as exc:
            raise _wrap_error(exc, self.url, sent=True) from None


class _ConnectionFailure(Exception):
    def __init__(self, error: APIConnectionError, sent: bool) -> None:
        self.error = error
        self.sent = sent


def _wrap_error(exc: BaseException, url: str, *, sent: bool) -> APIConnectionError:
    if isinstance(exc, APIConnectionError):
        return exc
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        phase = "connecting" if not sent else "waiting for the server"
        return APITimeoutError(f"timed out {phase}", url=url)
    name = type(exc).__name__
    return APIConnectionError(f"connection failed ({name}: {exc})", url=url)


class Transport:
    """One aiohttp session with the client's limits, used by one client."""

    def __init__(
        self,
        config: HttpConfig,
        scope: ApiScope,
        *,
        session: aiohttp.ClientSession | None = None,
        scrubber: SecretScrubber | None = None,
    ) -> None:
        self.config = config
        self.scope = scope
        self.scrubber = scrubber or SecretScrubber()
        self.retry_policy = config.retry_policy()
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self._limiter = (
            RateLimiter(config.requests_per_minute, config.rate_burst)
            if config.requests_per_minute
            else None
        )
        self._rng = random.Random()

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

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise HoverBentleyError("the client is closed")
        if self._session is None:
            cfg = self.config
            ssl_context: ssl.SSLContext | bool = (
                ssl.create_default_context(cafile=cfg.ca_file) if cfg.ca_file else True
            )
            connector = aiohttp.TCPConnector(
                limit=cfg.max_connections,
                limit_per_host=cfg.max_connections_per_host,
                ssl=ssl_context,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=cfg.connect_timeout, sock_read=cfg.read_timeout
                ),
                headers={"User-Agent": cfg.user_agent},
                read_bufsize=cfg.read_bufsize,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

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
    ) -> Response:
        """Send a request and read its whole body; raise a typed error for any failure.

        Retries follow the client's policy; a 401 renews the credentials once.
        """
        full = self.api_url(url, params)
        resp, body = await self._exchange(
            method,
            full,
            json=json,
            form=form,
            headers=headers,
            authenticated=authenticated,
            read_body=True,
        )
        assert body is not None
        return Response(resp.status, resp.headers, body, str(resp.url))

    @asynccontextmanager
    async def stream(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
    ) -> AsyncIterator[BodyStream]:
        """GET ``url`` and yield the open response once its headers arrived with a 2xx status.

        Failures before the body are retried; errors while reading the body are raised from
        :meth:`BodyStream.chunks` as :class:`APIConnectionError` for the caller to resume.
        """
        full = self.api_url(url)
        resp, _ = await self._exchange(
            "GET",
            full,
            json=None,
            form=None,
            headers=headers,
            authenticated=authenticated,
            read_body=False,
        )
        try:
            yield BodyStream(resp, full)
        finally:
            resp.release()

    async def _exchange(
        self,
        method: str,
        url: str,
        *,
        json: Any,
        form: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        authenticated: bool,
        read_body: bool,
    ) -> tuple[aiohttp.ClientResponse, bytes | None]:
        policy = self.retry_policy
        attempt = 0
        refreshed = False
        while True:
            try:
                resp, credential, final_url = await self._follow(
                    method, url, json=json, form=form, headers=headers, authenticated=authenticated
                )
                body: bytes | None = None
                if resp.status >= 300:
                    body = await self._read(resp, final_url, limit=_ERROR_BODY_LIMIT)
                    resp.release()
                elif read_body:
                    try:
                        body = await self._read(resp, final_url, limit=self.config.max_body_bytes)
                    finally:
                        resp.release()
            except _ConnectionFailure as failure:
                if policy.retry_error(method, sent=failure.sent) and policy.can_retry(attempt):
                    await self._pause(attempt, None, f"{method} {redact_url(url)}: {failure.error}")
                    attempt += 1
                    continue
                raise failure.error from None
            status = resp.status
            if status < 300:
                return resp, body
            assert body is not None
            if (
                status == 401
                and credential is not None
                and not refreshed
                and self.scope.auth is not None
                and await self.scope.auth.refresh(self, credential)
            ):
                refreshed = True
                continue
            if policy.retry_status(method, status) and policy.can_retry(attempt):
                await self._pause(
                    attempt,
                    resp.headers.get("Retry-After"),
                    f"{method} {redact_url(url)}: HTTP {status}",
                    rate_limited=status == 429 and self.is_api_url(final_url),
                )
                attempt += 1
                continue
            scrubbed = self.scrubber.scrub(body.decode("utf-8", "replace")).encode()
            raise error_for_response(status, scrubbed, final_url, method, resp.headers)

    async def _pause(
        self, attempt: int, retry_after: str | None, what: str, *, rate_limited: bool = False
    ) -> None:
        delay = self.retry_policy.delay(attempt, retry_after, now=time.time(), rng=self._rng)
        if rate_limited and self._limiter is not None:
            self._limiter.pause(delay)
        logger.info(
            "retrying %s in %.2f s (retry %d of %d)",
            what,
            delay,
            attempt + 1,
            self.retry_policy.max_retries,
        )
        await anyio.sleep(delay)

    async def _follow(
        self,
        method: str,
        url: str,
        *,
        json: Any,
        form: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        authenticated: bool,
    ) -> tuple[aiohttp.ClientResponse, str | None, str]:
        """Send one request and follow its redirects; return the final response.

        Returns (response, the Authorization value sent on the first hop or None, final URL).
        """
        session = self._client()
        scope = self.scope
        current = add_query(url, scope.params) if self.is_api_url(url) else url
        visited = [current]
        first_credential: str | None = None
        while True:
            on_api = self.is_api_url(current)
            send_headers: dict[str, str] = {}
            if on_api:
                send_headers.update(scope.headers)
                if self._limiter is not None:
                    await self._limiter.acquire()
            if headers:
                send_headers.update(headers)
            credential: str | None = None
            if on_api and authenticated and scope.auth is not None:
                credential = await scope.auth.authorization(self)
                send_headers["Authorization"] = credential
            if first_credential is None:
                first_credential = credential
            logger.debug("%s %s", method, redact_url(current))
            try:
                resp = await session.request(
                    method,
                    URL(wire_url(current), encoded=True),
                    json=json,
                    data=form,
                    headers=send_headers,
                    allow_redirects=False,
                )
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                raise _ConnectionFailure(_wrap_error(exc, current, sent=False), False) from None
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                raise _ConnectionFailure(_wrap_error(exc, current, sent=True), True) from None
            if resp.status not in REDIRECT_STATUSES or "Location" not in resp.headers:
                return resp, first_credential, current
            location = resp.headers.get("Location")
            resp.release()
            target = redirect_target(current, location, visited, self.config.max_redirects)
            new_method = redirect_method(resp.status, method)
            if new_method != method:
                json, form, method = None, None, new_method
            if self.is_api_url(target):
                target = add_query(target, scope.params)
            visited.append(target)
            current = target

    async def _read(self, resp: aiohttp.ClientResponse, url: str, *, limit: int) -> bytes:
        declared = resp.content_length
        if declared is not None and declared > limit and resp.status < 300:
            raise APIError(
                f"response body of {declared} bytes is larger than the limit of {limit} bytes",
                url=url,
            )
        parts: list[bytes] = []
        total = 0
        try:
            async for chunk in resp.content.iter_chunked(256 * 1024):
                total += len(chunk)
                if total > limit:
                    if resp.status >= 300:
                        parts.append(chunk[: max(0, limit - (total - len(chunk)))])
                        break
                    raise APIError(
                        f"response body is larger than the limit of {limit} bytes", url=url
                    )
                parts.append(chunk)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise _ConnectionFailure(_wrap_error(exc, url, sent=True), True) from None
        return b"".join(parts)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
