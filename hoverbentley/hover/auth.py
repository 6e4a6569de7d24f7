"""Hover's OAuth2 refresh-token grant with rotating, single-use refresh tokens."""

from __future__ import annotations

import time

import msgspec

from .._http.credentials import Sender
from ..auth import (
    AccessToken,
    MemoryTokenStore,
    RenewingAuth,
    StoredTokens,
    TokenStore,
    request_token,
)
from ..errors import (
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    ReauthorizationRequired,
)
from .models import TokenResponse

_TOKEN = msgspec.json.Decoder(TokenResponse)


class HoverOAuth(RenewingAuth):
    """Access tokens from ``POST /oauth/token`` with ``grant_type=refresh_token``.

    Each refresh token works once: the new one is saved to ``store`` before the access token
    issued with it is used. A token in the store is preferred to the one given here, since a
    stored token is newer. A refused refresh raises :class:`ReauthorizationRequired`.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str | None = None,
        *,
        store: TokenStore | None = None,
        token_path: str = "/oauth/token",  # noqa: S107 - a URL path, not a secret
    ) -> None:
        super().__init__()
        if not client_id or not client_secret:
            raise ConfigurationError("OAuth needs both client_id and client_secret")
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._store: TokenStore = store if store is not None else MemoryTokenStore()
        self._token_path = token_path

    def __repr__(self) -> str:
        return f"HoverOAuth(client_id={self._client_id!r}, <secrets redacted>)"

    async def _restore(self) -> AccessToken | None:
        stored = await self._store.load()
        if stored is None:
            if not self._refresh_token:
                raise ConfigurationError(
                    "no refresh token: pass refresh_token or use a token store that holds one"
                )
            return None
        self._refresh_token = stored.refresh_token
        if stored.access_token and stored.expires_at:
            return AccessToken(stored.access_token, stored.expires_at)
        return None

    async def _renew(self, sender: Sender) -> AccessToken:
        refresh_token = self._refresh_token
        if not refresh_token:
            raise ConfigurationError("no refresh token to renew the access token with")
        self._remember(self._client_secret, refresh_token)
        grant = await request_token(
            sender,
            self._token_path,
            _TOKEN,
            refused=self._refused,
            json={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
        )
        token = AccessToken(grant.access_token, time.time() + grant.expires_in)
        new_refresh = grant.refresh_token or refresh_token
        self._remember(token.value, new_refresh)
        await self._store.save(
            StoredTokens(
                refresh_token=new_refresh,
                access_token=token.value,
                expires_at=token.expires_at,
            )
        )
        self._refresh_token = new_refresh
        return token

    def _refused(self, exc: APIStatusError) -> AuthenticationError:
        reason = exc.code or exc.api_message or "no reason given"
        if exc.code == "invalid_client":
            return AuthenticationError(
                exc.status,
                url=exc.url or self._token_path,
                code=exc.code,
                message=f"Hover rejected the client credentials ({reason}):"
                f" check the client id {self._client_id!r} and its secret",
                method="POST",
            )
        return ReauthorizationRequired(
            exc.status,
            url=exc.url or self._token_path,
            code=exc.code,
            message=f"Hover refused the refresh token ({reason}):"
            " the user must authorize the application again",
            method="POST",
        )
