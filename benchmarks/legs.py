"""Candidates for the storage leg, on the same signed URLs with the same file work.

Each row is one process fetching every signed storage URL of a set (the mixed set and the
small files, over HTTP and HTTPS) into a new directory through our ``.part`` writer; only
the HTTP client changes (see ``contenders/storage_legs.py``). The row "hoverbentley
download" is our downloader today (``client.download`` per URL: the transport's retry,
health, redirect and stall layers over an aiohttp session).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from hoverbentley.emulator import Emulator

from .__main__ import (
    CONCURRENCY,
    MiB,
    Row,
    bulk_config,
    fresh,
    interleaved,
    load,
    on_uvloop,
    per_1k,
    signed_urls,
    small_config,
    tls_context,
)
from .measure import Sample, median, run_measured

CANDIDATES = ("session", "lean", "httptools", "pycurl")
OURS = "hoverbentley download"
HEADER = ["set", "protocol", "leg", "files", "MiB", "wall s", "files/s", "CPU s"]
HEADER += ["CPU-s/GB", "CPU-s/1k files", "x ours wall", "x ours CPU", "load"]


def _leg(leg: str, urls: Path, out: Path, ca_file: str | None) -> Sample:
    return run_measured(
        on_uvloop(
            "benchmarks.contenders.storage_legs",
            *("--leg", leg, "--urls", str(urls), "--out", str(fresh(out))),
            *("--concurrency", str(CONCURRENCY), "--ca-file", ca_file or ""),
        )
    )


def _ours(base: str, urls: Path, out: Path, ca_file: str | None) -> Sample:
    return run_measured(
        on_uvloop(
            "benchmarks.contenders.url_list",
            *("--urls", str(urls), "--out", str(fresh(out)), "--base", base),
            *("--concurrency", str(CONCURRENCY), "--ca-file", ca_file or ""),
        )
    )


def _check(directory: Path, sha256s: list[str]) -> None:
    """Every file of the last run is there, byte for byte (``n.bin`` is the n-th URL's)."""
    for n, want in enumerate(sha256s):
        got = hashlib.sha256((directory / f"{n}.bin").read_bytes()).hexdigest()
        if got != want:
            raise RuntimeError(f"{directory.name}: {n}.bin has sha256 {got}, not {want}")


def legs_benchmark(quick: bool, runs: int, work: Path, out: Path) -> tuple[list[Row], list[str]]:
    """Rows per set and protocol; a line per set naming the cheapest leg."""
    rows: list[Row] = []
    lines: list[str] = []
    sets = {"mixed": bulk_config(quick), "small": small_config(2_000)}
    for set_name, config in sets.items():
        for scheme in ("http", "https"):
            with tls_context(work) as (server_ctx, ca_pem):
                ca_file = ca_pem if scheme == "https" else None
                tls = server_ctx if scheme == "https" else None
                with Emulator.threaded(config, ssl_context=tls) as emu:
                    expected = emu.expected_files()
                    files = len(expected)
                    total = signed_urls(emu, config, work, ca_file or True)
                    urls = work / "signed.txt"
                    base = emu.hover_url
                    contenders = {
                        OURS: lambda: _ours(base, urls, out / "ours", ca_file),
                        **{
                            leg: (
                                lambda leg=leg: _leg(leg, urls, out / leg, ca_file)  # type: ignore[misc]
                            )
                            for leg in CANDIDATES
                        },
                    }
                    samples = interleaved(contenders, runs)
            for name in samples:
                _check(out / ("ours" if name == OURS else name), [f.sha256 for f in expected])
            walls = {name: median(got, "wall") for name, got in samples.items()}
            cpus = {name: median(got, "cpu") for name, got in samples.items()}
            for name, got in samples.items():
                rows.append(
                    [
                        set_name,
                        scheme.upper(),
                        name,
                        str(files),
                        f"{total / MiB:.0f}",
                        f"{walls[name]:.2f}",
                        f"{files / walls[name]:.0f}",
                        f"{cpus[name]:.2f}",
                        f"{cpus[name] / (total / 1e9):.2f}",
                        per_1k(cpus[name], files),
                        f"{walls[name] / walls[OURS]:.2f}",
                        f"{cpus[name] / cpus[OURS]:.2f}",
                        load(got),
                    ]
                )
            best = min(CANDIDATES, key=lambda leg: cpus[leg])
            lines.append(
                f"Storage leg, {set_name} set over {scheme.upper()}: the cheapest candidate is"
                f" {best}, {cpus[best] / cpus[OURS]:.2f}x our downloader's CPU and"
                f" {walls[best] / walls[OURS]:.2f}x its wall time; the aiohttp session"
                f" {cpus['session'] / cpus[OURS]:.2f}x CPU (load {os.getloadavg()[0]:.1f})"
            )
    return rows, lines
