"""Upload a directory into an object store with obstore, one object per file.

The second step of "archive to a local directory, then upload it", where no ready-made
uploader is at hand (azcopy is not on the package registries). The store comes from the
environment, as for the archive (``AWS_*``, ``AZURE_STORAGE_*``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import obstore
from obstore.store import AzureStore, S3Store

#: Part size and parts in flight per file, as the archive's object-store destination uses.
PART = 8 * 1024 * 1024
PARTS_IN_FLIGHT = 2


async def main(args: argparse.Namespace) -> None:
    root = Path(args.dir)
    url = urlsplit(args.url)
    prefix = url.path.strip("/") or None
    store: S3Store | AzureStore = (
        S3Store(url.netloc, prefix=prefix)
        if url.scheme == "s3"
        else AzureStore(url.netloc, prefix=prefix)
    )
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    limiter = anyio.CapacityLimiter(args.concurrency)
    total = 0

    async def upload(path: Path) -> None:
        nonlocal total
        async with limiter:
            await obstore.put_async(
                store,
                path.relative_to(root).as_posix(),
                path,
                chunk_size=PART,
                max_concurrency=PARTS_IN_FLIGHT,
            )
        total += path.stat().st_size

    async with anyio.create_task_group() as group:
        for path in files:
            group.start_soon(upload, path)
    print(json.dumps({"files": len(files), "bytes": total}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    anyio.run(main, parser.parse_args())
    # Every object is stored once the line above is printed. Leave without the interpreter's
    # shutdown: in the full-size benchmark this process was killed by SIGABRT now and then
    # (no message, exit status 134) while obstore's runtime threads were still alive.
    sys.stdout.flush()
    os._exit(0)
