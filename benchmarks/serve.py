"""``hoverbentley serve``: event-to-archived latency of a small job, events accepted a second,
and the service's peak memory under a burst of 1,000 events, with the machine's load.

One ``serve`` process over the embedded emulator (threaded, in this process), its port read
from its first line; the latency is from the POST of a job's event to the service's log line
saying the job is archived (each event waited for before the next is sent). The burst posts
1,000 signed events, 32 at a time: 20 jobs, 50 events each with an ``id`` of its own (so
each is journaled: fsynced before its answer), with the queue's bound above the burst.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import statistics
import subprocess
import threading
import time
from pathlib import Path

import aiohttp

from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.hover.webhook_events import sign_hover_event

from .__main__ import Row

SECRET = "bench-webhook-secret-0123456789abcdef"
HEADER = ["measure", "value"]
_SIZES = {"image": (4096, 16384), "measurements": (2048, 24576), "cad_exports": (16384, 98304)}


def _body(job_id: int, ident: str | None = None) -> bytes:
    event = {"event": "job-state-changed", "job_id": job_id, "state": "completed"}
    if ident is not None:
        event["id"] = ident
    return json.dumps(event).encode()


def _headers(body: bytes) -> dict[str, str]:
    return sign_hover_event(body, secret=SECRET, request_uri="/hooks/hover")


class _Lines:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.reader.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.queue.put(line)
        self.queue.put("")

    def wait(self, pattern: str) -> re.Match[str]:
        while True:
            line = self.queue.get(timeout=300)
            if not line:
                raise RuntimeError(f"serve exited before {pattern!r}")
            found = re.search(pattern, line)
            if found:
                return found


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _burst(url: str, job_ids: list[int], total: int) -> tuple[float, int]:
    bodies = [_body(job_ids[i % len(job_ids)], f"burst-{i}") for i in range(total)]
    accepted = 0
    limit = asyncio.Semaphore(32)

    async def one(session: aiohttp.ClientSession, body: bytes) -> None:
        nonlocal accepted
        async with (
            limit,
            session.post(f"{url}/hooks/hover", data=body, headers=_headers(body)) as r,
        ):
            await r.read()
            accepted += r.status == 202

    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        await asyncio.gather(*(one(session, b) for b in bodies))
        return time.perf_counter() - started, accepted


def _post(url: str, body: bytes) -> int:
    import urllib.request

    hook = f"{url}/hooks/hover"
    request = urllib.request.Request(hook, data=body, headers=_headers(body))  # noqa: S310
    with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback
        return int(response.status)


def serve_benchmark(work: Path, quick: bool) -> tuple[list[Row], list[str]]:
    """The rows of the service benchmark, and no targets (none is set for it yet)."""
    small = 20 if quick else 50
    config = EmulatorConfig(jobs=small + 20, include_seed_jobs=False, sizes=_SIZES)
    out = work / "serve-out"
    with Emulator.threaded(config) as emu:
        env = {
            **os.environ,
            "HOVER_TOKEN": emu.config.token,
            "HOVER_CURRENT_USER_EMAIL": sorted(emu.config.user_emails)[0],
            "HOVER_BASE_URL": emu.hover_url,
            "HOVER_WEBHOOK_SECRET": SECRET,
        }
        command = ["hoverbentley", "-v", "serve", str(out), "--port", "0"]
        command += ["--sweep-interval", "0", "--requests-per-minute", "0", "--queue-size", "5000"]
        proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        try:
            lines = _Lines(proc)
            url = lines.wait(r"listening on (http://\S+)").group(1)
            ids = emu.job_ids()
            latencies = []
            for job_id in ids[:small]:
                started = time.perf_counter()
                assert _post(url, _body(job_id)) == 202
                lines.wait(rf"hover job {job_id} archived")
                latencies.append(time.perf_counter() - started)
            rss_before = _peak_rss_mib(proc.pid)
            load_before = os.getloadavg()[0]
            wall, accepted = asyncio.run(_burst(url, ids[small:], 1000))
            load_after = os.getloadavg()[0]
            rss = _peak_rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait()
    cuts = statistics.quantiles(latencies, n=100)
    rows: list[Row] = [
        ["event-to-archived latency p50, small job (about 15 files)", f"{cuts[49] * 1000:.0f} ms"],
        ["event-to-archived latency p99", f"{cuts[98] * 1000:.0f} ms"],
        ["jobs timed", str(len(latencies))],
        ["events accepted a second (1,000, 32 at a time, each fsynced)", f"{accepted / wall:.0f}"],
        ["events accepted of 1,000", str(accepted)],
        ["peak RSS before the burst", f"{rss_before:.0f} MiB"],
        ["peak RSS under the burst (and the archives it queued)", f"{rss:.0f} MiB"],
        [
            "load average (1 min) before and after the burst",
            f"{load_before:.2f} / {load_after:.2f}",
        ],
    ]
    return rows, []
