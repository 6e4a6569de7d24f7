"""Our client: stream one file to disk with ``HoverClient.download``."""

from __future__ import annotations

import argparse
import json

import anyio

from hoverbentley.config import HttpConfig
from hoverbentley.hover.client import HoverClient


async def main(args: argparse.Namespace) -> None:
    http = HttpConfig(requests_per_minute=None)
    async with HoverClient(
        token=args.token, current_user_email=args.user, base_url=args.base, http=http
    ) as client:
        result = await client.download(args.url, args.out, resume=False)
    print(json.dumps({"bytes": result.size, "sha256": result.sha256}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("base", "token", "user", "url", "out"):
        parser.add_argument(f"--{name}", required=True)
    anyio.run(main, parser.parse_args())
