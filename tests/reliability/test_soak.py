"""Fault soak: a large archive through random faults arrives complete and byte-exact.

A quarter of all requests, on every host (Hover's API, its token endpoint and its storage),
fail: 500, 503, 429 with and without ``Retry-After``, connections reset mid-body, bodies cut
short under their full ``Content-Length``, and bodies that stall with the connection open;
never more than three in a row on one resource. ``HOVERBENTLEY_SOAK_JOBS`` raises the job count
(``nox -s soak`` runs it bigger).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from hoverbentley.archive import ArchiveOptions, archive, parse_include
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.config import HttpConfig
from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from tests.support import hover_client

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
KiB = 1024


@pytest.mark.timeout(900)
async def test_fault_soak(tmp_path: Path) -> None:
    jobs = int(os.environ.get("HOVERBENTLEY_SOAK_JOBS", "300"))
    faults = FaultConfig(
        error_500=0.05,
        error_503=0.05,
        reset=0.04,
        truncate=0.04,
        rate_limit=0.05,
        stall=0.02,
        stall_seconds=60,
        retry_after_share=0.5,
        retry_after_seconds=0,
        latency=(0.0, 0.01),
        targets="all",
        max_in_a_row=3,
        seed=11,
    )
    sizes = {
        "image": (2 * KiB, 24 * KiB),
        "measurements": (1 * KiB, 8 * KiB),
        "cad_exports": (1 * KiB, 8 * KiB),
    }
    config = EmulatorConfig(jobs=jobs, sizes=sizes, faults=faults)
    http = HttpConfig(
        requests_per_minute=None,
        backoff_base=0.005,
        backoff_max=0.05,
        retry_after_max=0.05,
        stall_timeout=0.5,
    )
    include = parse_include("images,pdf")
    out = tmp_path / "out"
    async with Emulator(config) as emu:
        async with hover_client(emu, http=http) as client:
            summary = await archive(
                HoverSource(client, archived=True, include=include),
                out,
                ArchiveOptions(concurrency=16, detail_concurrency=8, retries=0),
            )
        expected = {
            f.url: f.sha256
            for f in emu.expected_files()
            if f.kind == "image" or f.url.split("?")[0].endswith(".pdf")
        }
        storage = emu.requests_to("storage")
        injected = dict(emu.faults.injected)
        stalls = sum(emu.counters.stalls.values())
        api_faults = emu.counters.faults_of("hover")

    entries = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines() if x]
    ok = [e for e in entries if e["status"] == "ok" and e["kind"] != "job"]
    per_path = Counter(e["path"] for e in ok)
    assert max(per_path.values()) == 1, "a file was completed twice"
    got = {e["url"]: e for e in ok}
    assert summary.failed == 0 and summary.jobs_failed == 0, (
        summary.failures[:3],
        summary.job_failures[:3],
    )
    assert set(got) == set(expected)
    corrupt = [
        u
        for u, e in got.items()
        if hashlib.sha256((out / e["path"]).read_bytes()).hexdigest() != expected[u]
    ]
    assert corrupt == []
    assert not list(out.rglob("*.part*"))  # no part file, no resume state
    # The faults were there, on both hosts, stalls included (one pass, default retry budgets).
    assert stalls > 0 and api_faults > 0 and summary.retried_files == 0
    # Retries stay bounded: about one extra request per injected fault, never a storm.
    assert len(storage) <= len(expected) * 1.8, len(storage)
    print(
        f"\nsoak: {jobs} jobs, {len(expected)} files, {summary.bytes} bytes"
        f" in {summary.elapsed:.1f} s; storage requests {len(storage)}; faults injected {injected};"
        f" stalls {stalls}"
    )
