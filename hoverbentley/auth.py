"""Credentials: static bearer tokens, renewable tokens and token stores."""

from __future__ import annotations

import json
import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import anyio
import msgspec

from .errors import ConfigurationError

if TYPE_CHECKING:
    from ._transport import Transport


class StaticToken:
    """A bearer token that never changes (a 401 is final)."""

    def __init__(self, token: str) -> None:
        if not token or not token.strip():
            raise ConfigurationError("the bearer token is empty")
        self._header = f"Bearer {token.strip()}"

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"

    async def authorization(self, transport: Transport) -> str:
        transport.scrubber.add(self._header[7:])
        return self._header

    async def refresh(self, transport: Transport, rejected: str) -> bool:
        return False


@dataclass(frozen=True)
class AccessToken:
    """An access token and when it expires (epoch seconds)."""

    value: str
    expires_at: float

    def __repr__(self) -> str:
        return f"AccessToken(<redacted>, expires_at={self.expires_at})"


class RenewingAuth(ABC):
    """Base for tokens that expire: renewed ``renew_before`` seconds early and once on a 401.

    Only one renewal runs at a time; callers that arrive meanwhile wait and share its result.
    """

    renew_before: float = 300.0

    def __init__(self) -> None:
        self._lock = anyio.Lock()
        self._token: AccessToken | None = None
        self._restored = False

    def _fresh(self, token: AccessToken | None) -> bool:
        return token is not None and token.expires_at - self.renew_before > time.time()

    async def authorization(self, transport: Transport) -> str:
        token = self._token
        if not self._fresh(token):
            async with self._lock:
                if not self._restored:
                    self._restored = True
                    self._token = await self._restore()
                if not self._fresh(self._token):
                    self._token = await self._renew(transport)
                token = self._token
        assert token is not None
        transport.scrubber.add(token.value)
        return f"Bearer {token.value}"

    async def refresh(self, transport: Transport, rejected: str) -> bool:
        async with self._lock:
            current = self._token
            if current is not None and f"Bearer {current.value}" != rejected:
                return True  # another request renewed it already
            self._token = await self._renew(transport)
            return True

    async def _restore(self) -> AccessToken | None:
        """A still-valid token saved by an earlier run, if any."""
        return None

    @abstractmethod
    async def _renew(self, transport: Transport) -> AccessToken:
        """Obtain a new access token."""


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
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, json.dumps(msgspec.to_builtins(tokens)).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
