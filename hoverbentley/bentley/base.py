"""What every Bentley iTwin API client shares: credentials, headers and the transport."""

from __future__ import annotations

from typing import Any, TypeVar

import aiohttp
import msgspec

from .._core.decode import decode_json
from .._transport import ApiScope, Auth, Transport
from ..auth import StaticToken
from ..config import HttpConfig
from ..errors import ConfigurationError
from .auth import DEFAULT_SCOPE, IMS_TOKEN_URL, ClientCredentials

ACCEPT_V1 = "application/vnd.bentley.itwin-platform.v1+json"
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
    if token and (client_id or client_secret):
        raise ConfigurationError("give either a token or client credentials, not both")
    if token:
        return StaticToken(token)
    if client_id or client_secret:
        return ClientCredentials(
            client_id or "", client_secret or "", scope=scope, token_url=token_url
        )
    raise ConfigurationError(
        "Bentley credentials missing: give token, or client_id and client_secret"
    )


class BentleyApi:
    """Base of the iTwin API clients: one transport, ``Accept`` and credentials per client.

    ``auth`` lets two clients share one set of credentials (and one token).
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str = DEFAULT_SCOPE,
        token_url: str = IMS_TOKEN_URL,
        auth: Auth | None = None,
        http: HttpConfig | None = None,
        session: aiohttp.ClientSession | None = None,
        accept: str = ACCEPT_V1,
        subscription_key: str | None = None,
    ) -> None:
        if auth is None:
            auth = bentley_auth(token, client_id, client_secret, scope=scope, token_url=token_url)
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"base_url must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.http = http or HttpConfig()
        headers = {"Accept": accept}
        if subscription_key:
            headers["X-Api-Subscription-Key"] = subscription_key
        self.transport = Transport(
            self.http, ApiScope(self.base_url, auth=auth, headers=headers), session=session
        )
        if subscription_key:
            self.transport.scrubber.add(subscription_key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP session (idempotent)."""
        await self.transport.aclose()

    async def _call(
        self, decoder: msgspec.json.Decoder[T], method: str, path: str, body: Any = None
    ) -> T:
        json_body = msgspec.to_builtins(body) if body is not None else None
        response = await self.transport.request(method, path, json=json_body)
        return decode_json(decoder, response.body, response.url)
