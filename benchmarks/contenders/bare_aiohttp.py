"""The ceiling of our stack: plain aiohttp, hashlib and ``os``, with our file work and no more.

Each file is fetched with one ``session.get`` (redirects followed by aiohttp), hashed
(sha256), size-checked, written to a temporary name, fsynced, renamed into place and its
directory fsynced, in batches of 1 MiB handed to one worker thread while the loop reads the
next, as our downloader does. What it leaves out is what makes ours a product: retries and
their budgets, host health, stall detection, resume (``.part`` state, ``If-Range``), the
manifest, progress. The gap between this row and ours is the cost of those; the gap between
this row and aria2c or curl is the cost of Python, asyncio and aiohttp themselves.

``--urls FILE --out DIR`` fetches every URL of FILE into DIR/<n>.bin; ``--url URL --out
FILE`` fetches one, with an optional ``--header 'Name: value'``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import ssl
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp

BATCH = 1024 * 1024
_pool = ThreadPoolExecutor(32)


def _write(fd: int, batch: list[bytes], hasher: hashlib._Hash) -> None:
    for piece in batch:
        hasher.update(piece)
    os.writev(fd, batch)


def _finish(fd: int, batch: list[bytes], hasher: hashlib._Hash, part: str, final: str) -> None:
    try:
        _write(fd, batch, hasher)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(part, final)
    directory = os.open(os.path.dirname(final) or ".", os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


async def fetch(session: aiohttp.ClientSession, url: str, final: Path) -> int:
    loop = asyncio.get_running_loop()
    part = f"{final}.part"
    async with session.get(url) as response:
        response.raise_for_status()
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        hasher = hashlib.sha256()
        batch: list[bytes] = []
        pending = size = 0
        writing: asyncio.Future[None] | None = None
        async for chunk in response.content.iter_any():
            batch.append(chunk)
            pending += len(chunk)
            if pending >= BATCH:
                if writing is not None:
                    await writing
                writing = loop.run_in_executor(_pool, _write, fd, batch, hasher)
                size += pending
                batch, pending = [], 0
        if writing is not None:
            await writing
        size += pending
        await loop.run_in_executor(_pool, _finish, fd, batch, hasher, part, str(final))
    if response.content_length is not None and size != response.content_length:
        raise RuntimeError(f"{url}: {size} bytes where {response.content_length} were announced")
    return size


async def main(args: argparse.Namespace) -> None:
    ssl_context: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=args.ca_file) if args.ca_file else True
    )
    headers = dict([args.header.split(": ", 1)]) if args.header else {}
    connector = aiohttp.TCPConnector(limit=args.concurrency, ssl=ssl_context)
    async with aiohttp.ClientSession(
        connector=connector, headers=headers, read_bufsize=BATCH
    ) as session:
        if args.url:
            total = await fetch(session, args.url, Path(args.out))
            files = 1
        else:
            urls = Path(args.urls).read_text().split()
            Path(args.out).mkdir(parents=True, exist_ok=True)
            gate = asyncio.Semaphore(args.concurrency)

            async def one(index: int, url: str) -> int:
                async with gate:
                    return await fetch(session, url, Path(args.out) / f"{index}.bin")

            sizes = await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))
            total, files = sum(sizes), len(urls)
    print(json.dumps({"files": files, "bytes": total}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls")
    parser.add_argument("--url")
    parser.add_argument("--out", required=True)
    parser.add_argument("--header", default="")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--ca-file", default="")
    asyncio.run(main(parser.parse_args()))
