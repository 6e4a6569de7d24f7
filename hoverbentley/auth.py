"""Credentials: static bearer tokens, renewable tokens and token stores."""

from __future__ import annotations

import json
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import anyio
import msgspec

from ._core.decode import decode_json
from ._http.credentials import Sender
from ._http.renewable import Lease, Renewable
from ._io.atomic import write_atomic
from .errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    HoverBentleyError,
)


class StaticToken:
    """A bearer token that never changes (a 401 is final)."""

    def __init__(self, token: str) -> None:
        if not token or not token.strip():
            raise ConfigurationError("the bearer token is empty")
        self._token = token.strip()

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"

    async def authorization(self, sender: Sender) -> str:
        return f"Bearer {self._token}"

    async def refresh(self, sender: Sender, rejected: str) -> bool:
        return False

    def secrets(self) -> Iterable[str]:
        return (self._token,)


@dataclass(frozen=True)
class AccessToken:
    """An access token and when it expires (epoch seconds)."""

    value: str
    expires_at: float

    def __repr__(self) -> str:
        return f"AccessToken(<redacted>, expires_at={self.expires_at})"


class RenewingAuth(ABC):
    """Base for tokens that expire: renewed before they expire and once on a 401.

    Renewal starts ``renew_before`` seconds early (see :class:`~hoverbentley._http.renewable.
    Renewable` for the advisory and mandatory windows). Only one renewal runs at a time;
    callers that arrive meanwhile wait and share its result.
    """

    renew_before: float = 300.0

    def __init__(self) -> None:
        self._token: Renewable[str] | None = None
        self._restored = False
        self._secrets: set[str] = set()

    def _renewable(self, sender: Sender) -> Renewable[str]:
        if self._token is None:

            async def fetch() -> Lease[str]:
                token: AccessToken | None = None
                if not self._restored:
                    self._restored = True
                    token = await self._restore()
                    if token is not None and token.expires_at - self.renew_before <= time.time():
                        token = None
                if token is None:
                    token = await self._renew(sender)
                self._secrets.add(token.value)
                return Lease(token.value, token.expires_at)

            self._token = Renewable(
                fetch, advisory=self.renew_before, mandatory=self.renew_before / 5
            )
        return self._token

    async def authorization(self, sender: Sender) -> str:
        return f"Bearer {await self._renewable(sender).get()}"

    async def refresh(self, sender: Sender, rejected: str) -> bool:
        await self._renewable(sender).renew(rejected.removeprefix("Bearer "))
        return True

    def secrets(self) -> Iterable[str]:
        """Every token this credential has held, and its own secrets (see :meth:`_remember`)."""
        return tuple(self._secrets)

    def _remember(self, *secrets: str | None) -> None:
        """Keep ``secrets`` out of every message from now on."""
        self._secrets.update(s for s in secrets if s)

    async def _restore(self) -> AccessToken | None:
        """A still-valid token saved by an earlier run, if any."""
        return None

    @abstractmethod
    async def _renew(self, sender: Sender) -> AccessToken:
        """Obtain a new access token."""


T = TypeVar("T")


async def request_token(
    sender: Sender,
    url: str,
    decoder: msgspec.json.Decoder[T],
    *,
    refused: Callable[[APIStatusError], HoverBentleyError],
    form: Mapping[str, str] | None = None,
    json: Any = None,
) -> T:
    """POST a token grant (``form`` or ``json``) and decode the answer.

    A 400 or 401 from the token endpoint becomes the error ``refused`` makes of it.
    """
    try:
        response = await sender.request("POST", url, form=form, json=json, authenticated=False)
    except (BadRequestError, AuthenticationError) as exc:
        raise refused(exc) from None
    return decode_json(decoder, response.body, response.url)


class StoredTokens(msgspec.Struct, omit_defaults=True):
    """What a token store keeps: the newest refresh token and the access token issued with it."""

    refresh_token: str
    access_token: str | None = None
    expires_at: float | None = None

    def __repr__(self) -> str:
        return f"StoredTokens(<redacted>, expires_at={self.expires_at})"


class TokenStore(Protocol):
    """Persists rotating refresh tokens; ``save`` must be durable before it returns."""

    async def load(self) -> StoredTokens | None: ...

    async def save(self, tokens: StoredTokens) -> None: ...


class MemoryTokenStore:
    """Keeps tokens in memory only (tests, short-lived processes)."""

    def __init__(self, tokens: StoredTokens | None = None) -> None:
        self.tokens = tokens
        self.saves = 0

    def __repr__(self) -> str:
        return "MemoryTokenStore(<redacted>)"

    async def load(self) -> StoredTokens | None:
        return self.tokens

    async def save(self, tokens: StoredTokens) -> None:
        self.tokens = tokens
        self.saves += 1


class JsonFileTokenStore:
    """Keeps tokens in a JSON file readable by its owner only (mode 0600), replaced atomically."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        return f"JsonFileTokenStore({str(self.path)!r})"

    async def load(self) -> StoredTokens | None:
        return await anyio.to_thread.run_sync(self._load)

    async def save(self, tokens: StoredTokens) -> None:
        await anyio.to_thread.run_sync(self._save, tokens)

    def _load(self) -> StoredTokens | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return msgspec.json.decode(data, type=StoredTokens)
        except msgspec.MsgspecError:
            raise ConfigurationError(f"token file {self.path} is not valid") from None

    def _save(self, tokens: StoredTokens) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(msgspec.to_builtins(tokens)).encode()
        write_atomic(self.path, data, mode=0o600, concurrent_writers=True)
