"""A token store in an object store (``s3://bucket/fleet/token.json``, ``az://…``), shared by
processes on any number of machines.

The refresh runs while this process holds a lease: an object ``KEY.lock`` created only if
absent (a conditional put), naming its holder and when the lease ends. Another process waits
until the lease is released, or has run out (its holder died), and takes it over with a put
conditional on the lease's ETag, so two processes never both hold it. The tokens are then
read again (another process may have refreshed) and written with a put conditional on the
ETag read, so two writers never both win.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from ..stores import (
    PreconditionFailed,
    Store,
    StoreError,
    StoreLocation,
    StoreUnavailable,
    open_store,
    parse_location,
)
from .token_store import StoreBase, StoredTokens, TokenStoreError, decode, encode

logger = logging.getLogger("hoverbentley")

#: How long a lease lasts: longer than any refresh (the token endpoint's own timeout).
LEASE = 90.0
#: How long a process waits for another one's lease before giving up (seconds).
WAIT = 180.0


class ObjectTokenStore(StoreBase):
    """Keeps tokens in object ``key`` of ``store``; refreshes are serialised by a lease."""

    def __init__(self, store: Store, key: str, *, lease: float = LEASE, wait: float = WAIT) -> None:
        self.store = store
        self.key = key
        self.lock_key = f"{key}.lock"
        self.location = f"{store.location}/{key}"
        self._lease = lease
        self._wait = wait
        self._etag: str | None = None
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"
        #: How many rotations had to wait for another process's lease.
        self.waited = 0

    @classmethod
    def from_url(cls, url: str) -> ObjectTokenStore:
        """The store of ``s3://bucket/prefix/token.json`` (the object's URL)."""
        location = parse_location(url)
        folder, _, key = location.prefix.rpartition("/")
        if location.scheme == "file" or not key or url.endswith("/"):
            raise TokenStoreError(f"{url}: name the token object (s3://BUCKET/PATH/token.json)")
        return cls(open_store(StoreLocation(location.scheme, location.name, folder).url), key)

    def __repr__(self) -> str:
        return f"ObjectTokenStore({self.location!r})"

    async def _read(self) -> StoredTokens | None:
        try:
            info = await self.store.stat(self.key)
            data = await self.store.read(self.key)
        except StoreUnavailable:
            raise  # no credentials, no bucket: a usage error
        except StoreError as exc:
            raise TokenStoreError(str(exc)) from None  # it names the object
        self._etag = info.etag if info is not None and data is not None else None
        return None if data is None else decode(data, self.location)

    async def _write(self, tokens: StoredTokens) -> None:
        data = encode(tokens)
        if self._etag is None:
            self._etag = await self.store.put(self.key, data, if_absent=True)
        else:
            self._etag = await self.store.put(self.key, data, if_match=self._etag)

    async def save(self, tokens: StoredTokens) -> None:
        """Store ``tokens`` whatever is there (a first seeding, a recovery)."""
        self._etag = await self.store.put(self.key, encode(tokens))

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await self.store.delete(self.lock_key)
                except StoreError as exc:  # it runs out by itself
                    logger.warning("cannot release %s: %s", self.lock_key, exc)

    async def _acquire(self) -> None:
        deadline = time.monotonic() + self._wait
        delay = 0.05
        waited = False
        while True:
            body = json.dumps({"holder": self._holder, "until": time.time() + self._lease})
            try:
                await self.store.put(self.lock_key, body.encode(), if_absent=True)
                return
            except PreconditionFailed:
                pass
            if await self._take_over_if_expired(body.encode()):
                return
            if not waited:
                waited = True
                self.waited += 1
                logger.info(
                    "waiting for another process to refresh the Hover token (%s/%s)",
                    self.store.location,
                    self.lock_key,
                )
            if time.monotonic() > deadline:
                raise TokenStoreError(
                    f"another process has held {self.store.location}/{self.lock_key} for more"
                    f" than {self._wait:g} s while refreshing the Hover token"
                )
            await anyio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _take_over_if_expired(self, body: bytes) -> bool:
        info = await self.store.stat(self.lock_key)
        data = await self.store.read(self.lock_key)
        if info is None or data is None:
            return False  # released meanwhile: the next create may win
        try:
            until = float(json.loads(data)["until"])
        except (ValueError, KeyError, TypeError):
            until = 0.0
        if until > time.time() or info.etag is None:
            return False
        try:
            await self.store.put(self.lock_key, body, if_match=info.etag)
        except PreconditionFailed:
            return False  # someone else took it over first
        logger.warning("took over %s: its holder let the lease run out", self.lock_key)
        return True
