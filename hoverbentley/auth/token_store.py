"""Token stores: where rotating refresh tokens live, and the one rotation every store runs.

Hover's refresh tokens work once: each refresh returns a new one and invalidates the old. A
fleet (processes on one machine, pods on many) that shares one authorization must refresh
once per expiry, whoever gets there first, and every other process must use the winner's
token. Each store therefore offers :meth:`TokenStore.rotate`: in a section exclusive across
processes (a lock file, a lease object in a bucket) it reads the tokens again, returns them
if another process refreshed meanwhile, and otherwise refreshes and stores the new tokens
before anyone uses them. If storing fails, the new tokens are written to a recovery file
(owner-only) that the next run with the same store picks up, and the run stops with
:class:`TokenStoreError`: the authorization is never burned.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Protocol

import anyio
import msgspec

from .._io.atomic import write_atomic
from ..errors import CredentialsError, HoverBentleyError
from ..redact import rich_repr_without

logger = logging.getLogger("hoverbentley")

#: Where tokens that could not be stored are kept for the next run (``HOVERBENTLEY_TOKEN_
#: RECOVERY_DIR``, else the user's cache directory).
RECOVERY_ENV = "HOVERBENTLEY_TOKEN_RECOVERY_DIR"


class StoredTokens(msgspec.Struct, omit_defaults=True):
    """What a token store keeps: the newest refresh token and the access token issued with it.

    ``refreshed_at`` (epoch seconds) is when the refresh that issued them happened.
    """

    refresh_token: str
    access_token: str | None = None
    expires_at: float | None = None
    refreshed_at: float | None = None

    __rich_repr__ = rich_repr_without("refresh_token", "access_token")

    def __repr__(self) -> str:
        return f"StoredTokens(<redacted>, expires_at={self.expires_at})"


class TokenStoreError(HoverBentleyError):
    """A token store cannot be read or written; the message names the store and what to do."""


#: A refresh: given the tokens the store holds now (``None``: none yet), the new tokens.
Refresh = Callable[["StoredTokens | None"], Awaitable[StoredTokens]]
#: Whether the tokens a store holds are fresh enough to use without refreshing.
Fresh = Callable[[StoredTokens], bool]


class TokenStore(Protocol):
    """Persists rotating refresh tokens, shared safely by every process that uses it."""

    #: Where the tokens are, as shown to people (a path, ``s3://bucket/token.json``).
    location: str

    async def load(self) -> StoredTokens | None:
        """The tokens held now (a recovered, unsaved rotation first), or ``None``."""
        ...

    async def save(self, tokens: StoredTokens) -> None:
        """Store ``tokens`` durably (replacing what is there)."""
        ...

    async def rotate(self, refresh: Refresh, fresh: Fresh) -> StoredTokens:
        """Refresh once across every process sharing the store (see the module's notes)."""
        ...


def recovery_path(location: str) -> Path:
    """Where tokens that could not be stored at ``location`` wait for the next run."""
    base = os.environ.get(RECOVERY_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "hoverbentley"
    )
    name = hashlib.sha256(location.encode()).hexdigest()[:16]
    return Path(base) / "token-recovery" / f"{name}.json"


class StoreBase:
    """The rotation, recovery and loading every store shares; a store adds :meth:`_read`,
    :meth:`_write` and :meth:`_exclusive` (the section no two processes are in at once)."""

    location: str

    async def _read(self) -> StoredTokens | None:
        raise NotImplementedError

    async def _write(self, tokens: StoredTokens) -> None:
        raise NotImplementedError

    def _exclusive(self) -> AbstractAsyncContextManager[None]:
        raise NotImplementedError

    async def load(self) -> StoredTokens | None:
        if await anyio.to_thread.run_sync(recovery_path(self.location).exists):
            async with self._exclusive():  # one process moves them; the others read them
                return await self._load_locked()
        return await self._read()

    async def _load_locked(self) -> StoredTokens | None:
        """The stored tokens, once those a failed run kept aside are stored (in the lock)."""
        recovered = await anyio.to_thread.run_sync(self._recovered)
        if recovered is not None:
            await self.save(recovered)  # the store has them now: the recovery file goes
            await anyio.to_thread.run_sync(
                partial(recovery_path(self.location).unlink, missing_ok=True)
            )
            logger.warning("%s: stored the tokens a failed run had kept aside", self.location)
            return recovered
        return await self._read()

    async def save(self, tokens: StoredTokens) -> None:
        await self._write(tokens)

    async def rotate(self, refresh: Refresh, fresh: Fresh) -> StoredTokens:
        async with self._exclusive():
            current = await self._load_locked()
            if current is not None and fresh(current):
                return current  # another process refreshed while this one waited
            # Once the grant is sent the old refresh token may be spent: a stop (SIGTERM,
            # --max-duration) waits for the answer and keeps the new one, or it is lost.
            with anyio.CancelScope(shield=True):
                new = await refresh(current)
                await self._keep(new)
            return new

    async def _keep(self, new: StoredTokens) -> None:
        """Store ``new``, or write it to the recovery file when the store fails."""
        try:
            await self._write(new)
        except (HoverBentleyError, OSError) as exc:
            kept = await anyio.to_thread.run_sync(self._keep_aside, new)
            raise TokenStoreError(
                f"the new Hover tokens could not be stored in {self.location} ({exc});"
                f" they were written to {kept} (readable by you only), and the next run"
                " with the same token store picks them up: fix the store and run again"
            ) from None

    def _recovered(self) -> StoredTokens | None:
        path = recovery_path(self.location)
        try:
            return msgspec.json.decode(path.read_bytes(), type=StoredTokens)
        except FileNotFoundError:
            return None
        except msgspec.MsgspecError:
            raise CredentialsError(f"recovered token file {path} is not valid") from None

    def _keep_aside(self, tokens: StoredTokens) -> Path:
        path = recovery_path(self.location)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(path, encode(tokens), mode=0o600, concurrent_writers=True)
        return path


def encode(tokens: StoredTokens) -> bytes:
    """The JSON text of ``tokens`` as a store keeps it."""
    return json.dumps(msgspec.to_builtins(tokens)).encode()


def decode(data: bytes, location: str) -> StoredTokens:
    """The tokens in ``data`` read from ``location``; damage is a
    :class:`~hoverbentley.errors.CredentialsError`."""
    try:
        return msgspec.json.decode(data, type=StoredTokens)
    except msgspec.MsgspecError:
        raise CredentialsError(f"token file {location} is not valid") from None


class MemoryTokenStore(StoreBase):
    """Keeps tokens in memory only (tests, short-lived processes); one process."""

    location = "memory"

    def __init__(self, tokens: StoredTokens | None = None) -> None:
        self.tokens = tokens
        self.saves = 0
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return "MemoryTokenStore(<redacted>)"

    async def load(self) -> StoredTokens | None:
        return self.tokens

    async def _load_locked(self) -> StoredTokens | None:
        return self.tokens

    async def _read(self) -> StoredTokens | None:
        return self.tokens

    async def _write(self, tokens: StoredTokens) -> None:
        self.tokens = tokens
        self.saves += 1

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        async with self._lock:
            yield
