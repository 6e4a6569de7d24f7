"""Upload a directory into an object store with obstore, one object per file.

The second step of "archive to a local directory, then upload it", where no ready-made
uploader is at hand (azcopy is not on the package registries). The store comes from the
environment, as for the archive (``AWS_*``, ``AZURE_STORAGE_*``).

A file that cannot be stored stops the upload: the first failure is written to stderr whole
(the file, obstore's exception type and its full text, whose "Debug source" part holds the
cause, e.g. a refused connection), any other failures one line each, and the exit status is 1.
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


class UploadFailed(Exception):
    """Some files were not stored; each with the exception obstore raised for it."""

    def __init__(self, failures: list[tuple[Path, BaseException]]) -> None:
        super().__init__(f"{len(failures)} files not stored")
        self.failures = failures


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
    failures: list[tuple[Path, BaseException]] = []

    async def upload(path: Path, scope: anyio.CancelScope) -> None:
        nonlocal total
        async with limiter:
            try:
                await obstore.put_async(
                    store,
                    path.relative_to(root).as_posix(),
                    path,
                    chunk_size=PART,
                    max_concurrency=PARTS_IN_FLIGHT,
                )
            except Exception as exc:  # obstore's own errors, and OSError reading the file
                # Kept with the file it belongs to; the uploads still running are cancelled
                # (obstore has already retried what it retries).
                failures.append((path, exc))
                scope.cancel()
                return
        total += path.stat().st_size

    async with anyio.create_task_group() as group:
        for path in files:
            group.start_soon(upload, path, group.cancel_scope)
    if failures:
        raise UploadFailed(failures)
    print(json.dumps({"files": len(files), "bytes": total}))


def report(failed: UploadFailed, root: Path) -> None:
    """The first failure whole, then the others one line each (the same cause, usually)."""
    (path, exc), *others = failed.failures
    name = path.relative_to(root).as_posix()
    size = path.stat().st_size if path.exists() else -1
    print(f"upload_dir: {name} ({size} bytes) not stored: {type(exc).__name__}:", file=sys.stderr)
    print(str(exc).rstrip(), file=sys.stderr)
    for path, exc in others:
        first = (str(exc).splitlines() or [""])[0]
        name = path.relative_to(root).as_posix()
        print(
            f"upload_dir: also not stored: {name}: {type(exc).__name__}: {first}", file=sys.stderr
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parsed = parser.parse_args()
    status = 0
    try:
        anyio.run(main, parsed)
    except UploadFailed as failed:
        report(failed, Path(parsed.dir))
        status = 1
    # On success every object is stored by now. Leave without the interpreter's shutdown: in
    # the full-size benchmark this process was killed by SIGABRT now and then (no message,
    # exit status 134) while obstore's runtime threads were still alive.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
