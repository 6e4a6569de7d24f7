"""The S3 multipart uploads a run has open, kept in the store, so the next run can abort them.

obstore never tells a multipart upload's id, and an upload that is neither completed nor
aborted (its process was killed) stays in the bucket, billed and invisible. So before the
first part of each multipart upload, a run writes the key into its record
``.hoverbentley/uploads/<owner>.json`` (one PUT, whole or absent); while uploads are open it
rewrites the record every :data:`TOUCH` seconds; when it closes with nothing open it deletes
the record. The next run reads the records it owns, aborts the open uploads of exactly those
keys (:func:`~.stores.s3_uploads.abort_uploads`, which finds the ids by key) and deletes them.

Whose record is whose: ``<owner>`` is the shard's name (``shard-K-of-N``) or the run's id
(``run-…``). A shard owns only the record of its own name (a shard never runs twice at once);
a plain run owns the ``run-*`` records of runs that are dead: on this host with their process
gone, or, from elsewhere, not rewritten for :data:`LEASE` seconds. A sibling shard's record,
and a live run's, are never touched. Azure needs none of this: blocks staged but never
committed are invisible and expire after 7 days.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import anyio

from .._core.times import parse_iso
from ..stores import Store, StoreError

if TYPE_CHECKING:
    from ..stores.cloud import CloudStore

#: Where the records are, relative to the archive's prefix.
LEDGER_DIR = ".hoverbentley/uploads/"
#: How often a run with uploads open rewrites its record (seconds).
TOUCH = 120.0
#: A record from another host not rewritten for this long belongs to a dead run (seconds).
LEASE = 900.0

logger = logging.getLogger("hoverbentley")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class UploadLedger:
    """The record of the multipart uploads ``owner`` has open in ``store`` (an
    :class:`~.stores.UploadWatcher`)."""

    def __init__(
        self, store: CloudStore, owner: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.owner = owner
        self.key = f"{LEDGER_DIR}{owner}.json"
        self._clock = clock
        self._open: set[str] = set()
        self._saved_at: float | None = None
        # One write at a time, each of the keys open when it starts: concurrent writes could
        # land out of order and leave an older set in the store.
        self._lock = anyio.Lock()

    @classmethod
    def for_store(cls, store: Store, owner: str) -> UploadLedger | None:
        """The ledger of ``owner`` where ``store`` needs one (S3), else ``None``."""
        from ..stores.cloud import CloudStore

        if isinstance(store, CloudStore) and store.where.scheme == "s3":
            return cls(store, owner)
        return None

    async def opening(self, key: str) -> None:
        self._open.add(key)
        await self._save()

    async def alive(self) -> None:
        if self._open and (self._saved_at is None or self._clock() - self._saved_at >= TOUCH):
            await self._save()

    def closed(self, key: str, *, committed: bool) -> None:
        # An aborted key stays: see :meth:`close`.
        if committed:
            self._open.discard(key)

    async def close(self) -> None:
        """Make sure no upload of this run is left open, then delete the record; if that
        cannot be made sure, keep the keys in the record for the next run."""
        if self._saved_at is None:
            return
        # An abort that raced with the upload's creation can leave it open at the store: every
        # key this run did not commit is looked up once more.
        leftovers = set(self._open)
        if leftovers:
            from ..stores.s3_uploads import abort_uploads

            try:
                await abort_uploads(self.store.obstore, leftovers)  # type: ignore[arg-type]
            except StoreError as exc:
                logger.warning("%s: cannot make sure no upload is left open: %s", self.key, exc)
                await self._save()
                return
            self._open.clear()
        await self.store.delete(self.key)

    async def _save(self) -> None:
        async with self._lock:
            await self._write()

    async def _write(self) -> None:
        record = {
            "owner": self.owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "updated": datetime.now(timezone.utc).isoformat(),
            "keys": sorted(self._open),
        }
        await self.store.put(self.key, json.dumps(record).encode())
        self._saved_at = self._clock()

    async def clean_up(self, shard: str | None) -> list[str]:
        """Abort the open uploads that records this run owns name, then delete those records;
        return the keys whose uploads were aborted. Before this run opens any upload."""
        from ..stores.s3_uploads import abort_uploads

        aborted: list[str] = []
        async for info in self.store.list(LEDGER_DIR):
            name = info.key[len(LEDGER_DIR) :].removesuffix(".json")
            data = await self.store.read(info.key)
            record = json.loads(data) if data else {}
            if not self._owns(name, shard, record):
                continue
            keys = [k for k in record.get("keys", []) if isinstance(k, str)]
            try:
                done = await abort_uploads(self.store.obstore, keys)  # type: ignore[arg-type]
            except StoreError as exc:
                logger.warning(
                    "%s: uploads a crashed run left open are not aborted (%s); a bucket"
                    " lifecycle rule (AbortIncompleteMultipartUpload) cleans them",
                    self.store.location,
                    exc,
                )
                return aborted
            aborted += [u.key for u in done]
            await self.store.delete(info.key)
        return aborted

    def _owns(self, name: str, shard: str | None, record: dict[str, object]) -> bool:
        if shard is not None:
            return name == shard
        if not name.startswith("run-"):
            return False
        pid = record.get("pid")
        if record.get("host") == socket.gethostname() and isinstance(pid, int):
            return not _alive(pid)
        updated = parse_iso(str(record.get("updated", "")))
        return updated is None or self._clock() - updated.timestamp() > LEASE
