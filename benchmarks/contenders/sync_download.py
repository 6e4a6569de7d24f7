"""Baseline: download a list of URLs with ``requests`` in a thread pool, streaming to disk."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter


def main(args: argparse.Namespace) -> None:
    urls = Path(args.urls).read_text().split()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    for scheme in ("http://", "https://"):
        session.mount(scheme, HTTPAdapter(pool_connections=4, pool_maxsize=args.threads))
    verify: str | bool = args.ca_file or True
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}

    def fetch(index_url: tuple[int, str]) -> int:
        index, url = index_url
        # requests drops Authorization when a redirect leads to another host.
        with session.get(url, headers=headers, stream=True, verify=verify) as resp:
            resp.raise_for_status()
            digest = hashlib.sha256()
            size = 0
            with open(out / f"{index}.bin", "wb") as fh:
                for chunk in resp.iter_content(1024 * 1024):
                    fh.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        return size

    with ThreadPoolExecutor(args.threads) as pool:
        total = sum(pool.map(fetch, enumerate(urls)))
    print(json.dumps({"files": len(urls), "bytes": total}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--ca-file", default="")
    main(parser.parse_args())
