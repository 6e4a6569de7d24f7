"""Our downloader fed the same pre-signed storage URLs as aria2c, at the same concurrency.

It isolates the download path (hash, fsync, atomic rename) from the Hover protocol (listing,
job records and the API's redirect per file) that ``hover archive`` also goes through.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import anyio

from hoverbentley.config import HttpConfig
from hoverbentley.hover.client import HoverClient


async def main(args: argparse.Namespace) -> None:
    urls = Path(args.urls).read_text().split()
    out = Path(args.out)
    http = HttpConfig(requests_per_minute=None, ca_file=args.ca_file or None)
    limiter = anyio.CapacityLimiter(args.concurrency)
    total = 0

    async def fetch(client: HoverClient, index: int, url: str) -> None:
        nonlocal total
        async with limiter:
            result = await client.download(url, out / f"{index}.bin", resume=False)
        total += result.size

    # The API base is only where credentials would go; signed URLs point elsewhere.
    async with (
        HoverClient(
            token="unused", current_user_email="unused", base_url=args.base, http=http
        ) as client,
        anyio.create_task_group() as group,
    ):
        for index, url in enumerate(urls):
            group.start_soon(fetch, client, index, url)
    print(json.dumps({"files": len(urls), "bytes": total}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--base", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--ca-file", default="")
    anyio.run(main, parser.parse_args())
