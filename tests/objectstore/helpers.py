"""What an archive in a store holds, read back with obstore."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import obstore
from obstore.store import AzureStore, S3Store

from .conftest import Store


def open_store(store: Store, prefix: str = "archive") -> Any:
    """The obstore store of ``store``'s bucket under ``prefix`` (the environment is set)."""
    if store.kind == "s3":
        return S3Store(store.name, prefix=prefix or None)
    return AzureStore(store.name, prefix=prefix or None)


def objects(store: Store, prefix: str = "archive") -> dict[str, bytes]:
    """Every object under ``prefix``: key → bytes."""
    handle = open_store(store, prefix)
    keys = [m["path"] for batch in obstore.list(handle) for m in batch]
    return {key: bytes(obstore.get(handle, key).bytes()) for key in keys}


def metadata(store: Store, key: str, prefix: str = "archive") -> dict[str, str]:
    """The attributes (metadata) of object ``key``."""
    result = obstore.get(open_store(store, prefix), key, options={"head": True})
    return dict(result.attributes)


#: Bookkeeping of sharded runs, which a local archive does not have.
SHARD_PARTS = ("manifests/", "indexes/")


def mirror(store: Store, into: Path, prefix: str = "archive") -> Path:
    """Copy the archive's objects into directory ``into`` (to compare with a local archive),
    without the shards' manifest and index parts."""
    for key, data in objects(store, prefix).items():
        if key.startswith(SHARD_PARTS):
            continue
        target = into / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return into


def manifest_lines(root: Path) -> dict[str, dict[str, Any]]:
    """The newest manifest line of each path, without the time it completed."""
    newest: dict[str, dict[str, Any]] = {}
    for line in (root / "manifest.jsonl").read_bytes().splitlines():
        entry = msgspec.json.decode(line)
        entry.pop("completed_at", None)
        newest[entry["path"]] = entry
    return newest
