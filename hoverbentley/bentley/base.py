"""What every Bentley iTwin API client shares: credentials, ``Accept`` and the rate limit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, TypeVar

from .._client.base import ApiClient, choose_auth
from .._http.config import HttpConfig
from .._http.credentials import Auth
from ..errors import ConfigurationError
from .auth import DEFAULT_SCOPE, IMS_TOKEN_URL, ClientCredentials

if TYPE_CHECKING:
    import aiohttp

ACCEPT_V1 = "application/vnd.bentley.itwin-platform.v1+json"
#: Bentley's Community tier allows 500 requests a minute; stay below it by default.
DEFAULT_REQUESTS_PER_MINUTE = 450.0
T = TypeVar("T")


def bentley_auth(
    token: str | None,
    client_id: str | None,
    client_secret: str | None,
    *,
    scope: str = DEFAULT_SCOPE,
    token_url: str = IMS_TOKEN_URL,
) -> Auth:
    """A static bearer token, or client credentials against IMS."""
    return choose_auth(
        token,
        (
            lambda: ClientCredentials(
                client_id or "", client_secret or "", scope=scope, token_url=token_url
            )
        )
        if client_id or client_secret
        else None,
        both=bool(token and (client_id or client_secret)),
        conflict="give either a token or client credentials, not both",
        missing="Bentley credentials missing: give token, or client_id and client_secret",
    )


class BentleyApi(ApiClient):
    """Base of the iTwin API clients: one transport, ``Accept`` and credentials per client.

    ``auth`` lets two clients share one set of credentials (and one token). ``base_url`` and
    ``token_url`` left ``None`` are Bentley's (the API's own URL, IMS). Requests are limited
    to 450 a minute unless ``http`` sets ``requests_per_minute``. ``session``: an aiohttp
    session of yours that every request goes through, blob downloads included; you close it.
    ``trace_configs``: ``aiohttp.TraceConfig`` objects (OpenTelemetry's) for the session the
    client opens itself, as a sync client needs (it cannot take a session).
    """

    default_requests_per_minute = DEFAULT_REQUESTS_PER_MINUTE
    #: The API's base URL when ``base_url`` is not given (each client names its API's).
    default_base_url: ClassVar[str | None] = None
    #: The ``Accept`` header when ``accept`` is not given (the API version).
    default_accept: ClassVar[str] = ACCEPT_V1

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str = DEFAULT_SCOPE,
        token_url: str | None = None,
        auth: Auth | None = None,
        http: HttpConfig | None = None,
        session: aiohttp.ClientSession | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
        accept: str | None = None,
        subscription_key: str | None = None,
    ) -> None:
        base_url = base_url or self.default_base_url
        if base_url is None:
            raise ConfigurationError(f"{type(self).__name__} needs base_url")
        if auth is None:
            auth = bentley_auth(
                token, client_id, client_secret, scope=scope, token_url=token_url or IMS_TOKEN_URL
            )
        headers = {"Accept": accept or self.default_accept}
        if subscription_key:
            headers["X-Api-Subscription-Key"] = subscription_key
        super().__init__(
            base_url=base_url,
            auth=auth,
            http=http,
            session=session,
            trace_configs=trace_configs,
            headers=headers,
        )
        if subscription_key:
            self.transport.scrubber.add(subscription_key)
