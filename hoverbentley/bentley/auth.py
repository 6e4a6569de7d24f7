"""OAuth2 client credentials against Bentley's IMS, for service applications."""

from __future__ import annotations

import time

import msgspec

from .._core.urls import http_url_fault
from .._http.credentials import Sender
from ..auth import AccessToken, RenewingAuth, request_token
from ..errors import APIStatusError, AuthenticationError, ConfigurationError
from ..redact import redact_url

IMS_TOKEN_URL = "https://ims.bentley.com/connect/token"  # noqa: S105 - a URL, not a secret
DEFAULT_SCOPE = "itwin-platform"


class _Grant(msgspec.Struct):
    access_token: str
    expires_in: float = 3600


_GRANT = msgspec.json.Decoder(_Grant)


class ClientCredentials(RenewingAuth):
    """Access tokens from the client-credentials grant, renewed before ``expires_in`` runs out.

    A refused grant raises :class:`~hoverbentley.errors.AuthenticationError` naming the client id.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        scope: str = DEFAULT_SCOPE,
        token_url: str = IMS_TOKEN_URL,
    ) -> None:
        super().__init__()
        if not client_id or not client_secret:
            raise ConfigurationError("client credentials need both client_id and client_secret")
        if (fault := http_url_fault(token_url)) is not None:
            raise ConfigurationError(f"token_url is {fault}: {redact_url(token_url)!r}")
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._token_url = token_url

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self._client_id!r}, <secret redacted>)"

    async def _renew(self, sender: Sender) -> AccessToken:
        self._remember(self._client_secret)
        grant = await request_token(
            sender,
            self._token_url,
            _GRANT,
            refused=self._refused,
            form={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "scope": self._scope,
            },
            repeatable=True,  # each grant is a new token; none is spent
        )
        self._remember(grant.access_token)
        return AccessToken(grant.access_token, time.time() + grant.expires_in)

    def _refused(self, exc: APIStatusError) -> AuthenticationError:
        return AuthenticationError(
            exc.status_code,
            url=exc.url or self._token_url,
            code=exc.code,
            message=f"the token service refused client {self._client_id!r}"
            f" ({exc.code or exc.api_message or 'no reason given'})",
            method="POST",
        )
