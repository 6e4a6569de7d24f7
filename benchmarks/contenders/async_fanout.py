"""Our client: fetch and decode job details with ``HoverClient.get_jobs`` at a concurrency."""

from __future__ import annotations

import argparse
import json
import time

import anyio

from hoverbentley.config import HttpConfig
from hoverbentley.hover.client import HoverClient


async def main(args: argparse.Namespace) -> None:
    ids = [int(i) for i in args.ids.split(",")]
    http = HttpConfig(
        requests_per_minute=None,
        max_connections=max(64, args.concurrency),
        max_connections_per_host=args.concurrency,
    )
    async with HoverClient(
        token=args.token, current_user_email=args.user, base_url=args.base, http=http
    ) as client:
        started = time.perf_counter()
        results = await client.get_jobs(ids, concurrency=args.concurrency)
        elapsed = time.perf_counter() - started
    failed = sum(1 for r in results if r.error is not None)
    print(json.dumps({"jobs": len(results), "failed": failed, "elapsed": elapsed}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("base", "token", "user", "ids"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    anyio.run(main, parser.parse_args())
