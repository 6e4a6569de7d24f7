"""Hover's OAuth2 refresh-token grant with rotating, single-use refresh tokens."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import msgspec

from .._core.decode import decode_json
from ..auth import AccessToken, MemoryTokenStore, RenewingAuth, StoredTokens, TokenStore
from ..errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ReauthorizationRequired,
)
from .models import TokenResponse

if TYPE_CHECKING:
    from .._transport import Transport

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

    async def _renew(self, transport: Transport) -> AccessToken:
        refresh_token = self._refresh_token
        if not refresh_token:
            raise ConfigurationError("no refresh token to renew the access token with")
        for secret in (self._client_secret, refresh_token):
            transport.scrubber.add(secret)
        try:
            response = await transport.request(
                "POST",
                self._token_path,
                json={
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                },
                authenticated=False,
            )
        except (BadRequestError, AuthenticationError) as exc:
            raise ReauthorizationRequired(
                exc.status,
                url=exc.url or self._token_path,
                code=exc.code,
                message=(
                    "Hover refused the refresh token"
                    f" ({exc.code or exc.api_message or 'no reason given'}):"
                    " the user must authorize the application again"
                ),
                method="POST",
            ) from None
        grant = decode_json(_TOKEN, response.body, response.url)
        transport.scrubber.add(grant.access_token)
        token = AccessToken(grant.access_token, time.time() + grant.expires_in)
        new_refresh = grant.refresh_token or refresh_token
        transport.scrubber.add(new_refresh)
        await self._store.save(
            StoredTokens(
                refresh_token=new_refresh,
                access_token=token.value,
                expires_at=token.expires_at,
            )
        )
        self._refresh_token = new_refresh
        return token
