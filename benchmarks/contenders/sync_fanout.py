"""Baseline: the same job-detail fetches with ``requests.Session`` (sequential or threads).

Bodies are decoded with msgspec into the same Structs, so only the I/O model differs.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

import msgspec
import requests
from requests.adapters import HTTPAdapter

from hoverbentley.hover.models import Job

DECODER = msgspec.json.Decoder(Job)


def main(args: argparse.Namespace) -> None:
    ids = [int(i) for i in args.ids.split(",")]
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=max(1, args.threads)))
    session.headers["Authorization"] = f"Bearer {args.token}"

    def fetch(job_id: int) -> bool:
        resp = session.get(
            f"{args.base}/api/v3/jobs/{job_id}", params={"current_user_email": args.user}
        )
        if resp.status_code != 200:
            return False
        DECODER.decode(resp.content)
        return True

    started = time.perf_counter()
    if args.threads <= 1:
        ok = [fetch(i) for i in ids]
    else:
        with ThreadPoolExecutor(args.threads) as pool:
            ok = list(pool.map(fetch, ids))
    elapsed = time.perf_counter() - started
    print(json.dumps({"jobs": len(ok), "failed": ok.count(False), "elapsed": elapsed}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("base", "token", "user", "ids"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--threads", type=int, default=1)
    main(parser.parse_args())
