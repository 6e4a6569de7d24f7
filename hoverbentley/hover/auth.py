"""Hover's OAuth2 refresh-token grant with rotating, single-use refresh tokens."""

from __future__ import annotations

import time
from datetime import datetime, timezone

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
    CredentialsError,
    ReauthorizationRequired,
)
from .models import TokenResponse

_TOKEN = msgspec.json.Decoder(TokenResponse)


class HoverOAuth(RenewingAuth):
    """Access tokens from ``POST /oauth/token`` with ``grant_type=refresh_token``.

    Each refresh token works once: the new one is saved to ``store`` before the access token
    issued with it is used, and processes sharing the store refresh once between them (see
    :meth:`~hoverbentley.auth.TokenStore.rotate`). A token in the store is preferred to the
    one given here, since a stored token is newer. A refused refresh raises
    :class:`ReauthorizationRequired`, naming the store and when it was last refreshed.
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
        #: The access token this process uses now, and when its refresh happened.
        self._held: str | None = None
        self._refreshed_at: float | None = None

    def __repr__(self) -> str:
        return f"HoverOAuth(client_id={self._client_id!r}, <secrets redacted>)"

    async def _restore(self) -> AccessToken | None:
        stored = await self._store.load()
        if stored is None:
            if not self._refresh_token:
                raise CredentialsError(
                    "no refresh token: pass refresh_token or use a token store that holds one"
                )
            return None
        self._note(stored)
        if stored.access_token and stored.expires_at:
            self._held = stored.access_token
            return AccessToken(stored.access_token, stored.expires_at)
        return None

    async def _renew(self, sender: Sender) -> AccessToken:
        held = self._held

        def fresh(stored: StoredTokens) -> bool:
            # Another process refreshed since this one took its token: use theirs.
            return (
                stored.access_token is not None
                and stored.access_token != held
                and stored.expires_at is not None
                and stored.expires_at - self.renew_before > time.time()
            )

        async def refresh(stored: StoredTokens | None) -> StoredTokens:
            if stored is not None:
                self._note(stored)
            refresh_token = self._refresh_token
            if not refresh_token:
                raise CredentialsError("no refresh token to renew the access token with")
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
            self._remember(grant.access_token, grant.refresh_token)
            return StoredTokens(
                refresh_token=grant.refresh_token or refresh_token,
                access_token=grant.access_token,
                expires_at=time.time() + grant.expires_in,
                refreshed_at=time.time(),
            )

        tokens = await self._store.rotate(refresh, fresh)
        self._note(tokens)
        assert tokens.access_token is not None and tokens.expires_at is not None
        self._held = tokens.access_token
        return AccessToken(tokens.access_token, tokens.expires_at)

    def _note(self, stored: StoredTokens) -> None:
        """Take ``stored`` as the newest tokens (a store's are newer than those given)."""
        self._refresh_token = stored.refresh_token
        self._refreshed_at = stored.refreshed_at
        self._remember(stored.refresh_token, stored.access_token)

    def _refused(self, exc: APIStatusError) -> AuthenticationError:
        reason = exc.code or exc.api_message or "no reason given"
        if exc.code == "invalid_client":
            return AuthenticationError(
                exc.status_code,
                url=exc.url or self._token_path,
                code=exc.code,
                message=f"Hover rejected the client credentials ({reason}):"
                f" check the client id {self._client_id!r} and its secret",
                method="POST",
            )
        when = (
            datetime.fromtimestamp(self._refreshed_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if self._refreshed_at
            else "never by this package"
        )
        return ReauthorizationRequired(
            exc.status_code,
            url=exc.url or self._token_path,
            code=exc.code,
            message=f"Hover refused the refresh token ({reason}) from token store"
            f" {self._store.location} (last refreshed {when}):"
            " the user must authorize the application again",
            method="POST",
        )
