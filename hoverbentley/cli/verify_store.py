"""``hoverbentley verify s3://…``: read every archived object back and compare it with the
manifest in the store."""

from __future__ import annotations

import anyio

from ..errors import ConfigurationError
from .verify import Changed, VerifyReport


async def verify_store(url: str, *, workers: int = 4) -> VerifyReport:
    """Hash every object the manifest at ``url`` records as complete; list missing, changed
    and extra objects (the bookkeeping of sharded runs is not extra)."""
    from ..archive.object_store import ObjectStoreDestination

    store = ObjectStoreDestination(url)
    await store.open()
    entries = [e for p in store.entries() if (e := store.entry(p)) is not None]
    recorded = [e for e in entries if e.status == "ok"]
    failed = sorted(e.path for e in entries if e.status != "ok")
    listed = store.listed()
    if not entries:
        raise ConfigurationError(f"no manifest in {store.location}: not an archive")
    missing: list[str] = []
    changed: list[Changed] = []
    total = 0
    limiter = anyio.CapacityLimiter(workers)

    async def check(path: str, sha256: str | None, size: int | None) -> None:
        nonlocal total
        async with limiter:
            actual = await store.sha256(path)
        if actual is None:
            missing.append(path)
            return
        total += listed.get(path, 0)
        if actual != sha256 or listed.get(path) != size:
            changed.append(
                Changed(
                    path=path,
                    expected_sha256=sha256,
                    actual_sha256=actual,
                    expected_size=size,
                    actual_size=listed.get(path, 0),
                )
            )

    async with anyio.create_task_group() as group:
        for entry in recorded:
            if entry.path not in listed:
                missing.append(entry.path)
            else:
                group.start_soon(check, entry.path, entry.sha256, entry.size)
    known = {e.path for e in entries}
    return VerifyReport(
        out=store.location,
        files=len(recorded),
        bytes=total,
        verified=len(recorded) - len(missing) - len(changed),
        missing=sorted(missing),
        changed=sorted(changed, key=lambda c: c.path),
        extra=sorted(k for k in listed if k not in known),
        failed=failed,
        partial=[],
    )
