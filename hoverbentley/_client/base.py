"""What every API client shares: credentials, base URL, transport, lifecycle, typed calls."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import anyio
import msgspec

from .._core.decode import decode_json
from .._core.urls import http_url_fault
from .._http.config import HttpConfig
from .._http.credentials import ApiScope, Auth
from .._http.transport import Transport
from ..auth import StaticToken
from ..errors import ConfigurationError, UnreadableBodyError
from ..redact import redact_url

logger = logging.getLogger("hoverbentley")

if TYPE_CHECKING:
    import aiohttp

T = TypeVar("T")
C = TypeVar("C", bound="ApiClient")


@dataclass(frozen=True)
class Raw(Generic[T]):
    """A decoded response with the exact bytes it came in and the URL that served it."""

    value: T
    raw: bytes
    url: str = ""


def choose_auth(
    token: str | None,
    grant: Callable[[], Auth] | None,
    *,
    both: bool,
    conflict: str,
    missing: str,
) -> Auth:
    """A static token, or the grant ``grant`` builds; ``both``: the caller gave both kinds."""
    if both:
        raise ConfigurationError(conflict)
    if token:
        return StaticToken(token)
    if grant is not None:
        return grant()
    raise ConfigurationError(missing)


def check_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash, or :class:`ConfigurationError` if it is not an
    http(s) URL with a host (and a valid port, if it has one)."""
    fault = http_url_fault(base_url)
    if fault is not None:
        raise ConfigurationError(f"base_url is {fault}: {redact_url(base_url)!r}")
    return base_url.rstrip("/")


class ApiClient:
    """One provider API: its base URL, credentials, HTTP settings and transport.

    ``default_requests_per_minute`` is the provider's client-side rate limit, applied unless
    ``http`` sets ``requests_per_minute`` itself. ``trace_configs`` (``aiohttp.TraceConfig``
    objects, OpenTelemetry's among them) are given to the session the client opens; a caller's
    ``session`` carries its own. Use as ``async with Client(...) as c:``.
    """

    default_requests_per_minute: ClassVar[float | None] = None

    def __init__(
        self,
        *,
        base_url: str,
        auth: Auth,
        http: HttpConfig | None = None,
        session: aiohttp.ClientSession | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if session is not None and trace_configs:
            raise ConfigurationError(
                "trace_configs apply to the session the client opens itself: with session=,"
                " give them to your session (aiohttp.ClientSession(trace_configs=...))"
            )
        self.base_url = check_base_url(base_url)
        self.auth = auth
        self.http = (http or HttpConfig()).for_provider(self.default_requests_per_minute)
        scope = ApiScope(self.base_url, auth=auth, params=params or {}, headers=headers or {})
        self.transport = Transport(self.http, scope, session=session, trace_configs=trace_configs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={redact_url(self.base_url)!r})"

    async def __aenter__(self: C) -> C:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session (idempotent)."""
        await self.transport.aclose()

    def url_for(self, path: str) -> str:
        """The absolute URL of ``path`` on this API."""
        return self.transport.api_url(path)

    async def _call(
        self, decoder: msgspec.json.Decoder[T], method: str, path: str, body: Any = None
    ) -> T:
        return (await self._call_raw(decoder, method, path, body)).value

    async def _call_raw(
        self, decoder: msgspec.json.Decoder[T], method: str, path: str, body: Any = None
    ) -> Raw[T]:
        """``method path`` decoded; a GET answered with no JSON at all (a proxy's maintenance
        page, an empty body) is asked again as a 503 would be, up to the client's retries."""
        json_body = msgspec.to_builtins(body) if body is not None else None
        policy = self.transport.retry_policy
        attempt = 0
        while True:
            response = await self.transport.request(method, path, json=json_body)
            try:
                value = decode_json(decoder, response.body, response.url)
            except UnreadableBodyError as exc:
                if method != "GET" or not policy.can_retry(attempt):
                    raise
                delay = policy.backoff(attempt)
                logger.info(
                    "retrying GET %s in %.2f s (no JSON in the answer: %s; retry %d of %d)",
                    redact_url(response.url),
                    delay,
                    exc.message,
                    attempt + 1,
                    policy.max_retries,
                )
                await anyio.sleep(delay)
                attempt += 1
                continue
            return Raw(value, response.body, response.url)
