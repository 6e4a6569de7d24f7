"""Whose record of open uploads a run may clean: its own shard's, or a dead plain run's."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import anyio
import obstore
import pytest

from hoverbentley.archive.upload_ledger import LEASE, LEDGER_DIR, UploadLedger
from hoverbentley.stores import StoreError, open_store, s3_uploads
from hoverbentley.stores.cloud import CloudStore

from .conftest import Store, uploads_in_progress

pytestmark = pytest.mark.anyio


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def test_a_plain_run_cleans_only_the_records_of_dead_runs(s3: Store) -> None:
    store = open_store(s3.url())
    assert isinstance(store, CloudStore)
    here = socket.gethostname()
    now = datetime.now(timezone.utc)
    old = (now - timedelta(seconds=LEASE + 60)).isoformat()
    records = {
        "run-1-live": {"host": here, "pid": os.getpid(), "updated": old},
        "run-2-dead": {"host": here, "pid": _dead_pid(), "updated": now.isoformat()},
        "run-3-elsewhere-stale": {"host": "other-pod", "pid": 1, "updated": old},
        "run-4-elsewhere-fresh": {"host": "other-pod", "pid": 1, "updated": now.isoformat()},
        "shard-00000-of-00002": {"host": here, "pid": _dead_pid(), "updated": old},
    }
    for name, record in records.items():
        await store.put(f"{LEDGER_DIR}{name}.json", json.dumps({**record, "keys": []}).encode())

    await UploadLedger(store, "run-9-me").clean_up(None)
    left = sorted([i.key async for i in store.list(LEDGER_DIR)])
    assert left == [
        f"{LEDGER_DIR}run-1-live.json",
        f"{LEDGER_DIR}run-4-elsewhere-fresh.json",
        f"{LEDGER_DIR}shard-00000-of-00002.json",
    ]

    # A shard cleans its own record only, whoever wrote it.
    await UploadLedger(store, "shard-00001-of-00002").clean_up("shard-00001-of-00002")
    assert len([i async for i in store.list(LEDGER_DIR)]) == 3
    await UploadLedger(store, "shard-00000-of-00002").clean_up("shard-00000-of-00002")
    assert sorted([i.key async for i in store.list(LEDGER_DIR)]) == left[:2]


async def test_closing_aborts_what_an_abort_left_open_then_drops_the_record(
    s3: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(s3.url())
    assert isinstance(store, CloudStore)
    ledger = UploadLedger(store, "run-5-me")
    await ledger.opening("a/big.bin")
    await ledger.opening("b/big.bin")
    data = await store.read(ledger.key)
    assert data is not None and json.loads(data)["keys"] == ["a/big.bin", "b/big.bin"]
    ledger.closed("a/big.bin", committed=True)
    # An upload of b whose abort raced with its creation: still open at the store.
    writer = obstore.open_writer_async(store.obstore, "b/big.bin", buffer_size=5 * 1024 * 1024)
    await writer.write(os.urandom(6 * 1024 * 1024))
    await writer.flush()
    while uploads_in_progress(s3) == 0:  # the writer sends its first part in the background
        await anyio.sleep(0.05)
    ledger.closed("b/big.bin", committed=False)

    def refuse(*args: object, **kwargs: object) -> None:
        raise StoreError("s3://…: cannot list multipart uploads: HTTP 503")

    with monkeypatch.context() as patched:
        patched.setattr(s3_uploads, "abort_uploads", refuse)
        await ledger.close()  # cannot make sure: the record keeps the key for the next run
    data = await store.read(ledger.key)
    assert data is not None and json.loads(data)["keys"] == ["b/big.bin"]

    await ledger.close()
    assert uploads_in_progress(s3) == 0
    assert await store.stat(ledger.key) is None
