"""``python -m benchmarks [--quick] [--only NAME ...]``: run the benchmarks, write RESULTS.md."""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import platform
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import cast

import requests
import trustme

from hoverbentley.emulator import Emulator, EmulatorConfig

from .equal_work import curl_config, pair_command
from .measure import Sample, median, run_measured

ROOT = Path(__file__).resolve().parent
PY = [sys.executable, "-m"]
KiB, MiB = 1024, 1024 * 1024
#: Downloads at once, for us and for aria2c alike.
CONCURRENCY = 16
Row = list[str]


def machine() -> str:
    cpus = os.cpu_count()
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) // 1024 // 1024} GiB RAM"
    except OSError:
        pass
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {cpus} CPUs ({model}){mem},"
        f" Python {platform.python_version()}"
    )


#: Contenders whose run failed once and was run again (named in RESULTS.md's notes).
REPEATED: list[str] = []


def interleaved(contenders: dict[str, Callable[[], Sample]], runs: int) -> dict[str, list[Sample]]:
    """Run every contender once per round, ``runs`` rounds, so noise hits all alike.

    A run that fails is run once more (and named in the notes), so one crash of a contender
    does not lose the benchmarks measured before it; a second failure stops the run.
    """
    results: dict[str, list[Sample]] = {name: [] for name in contenders}
    for _ in range(runs):
        for name, contender in contenders.items():
            try:
                sample = contender()
            except RuntimeError as exc:
                print(f"{name}: run failed, running it again: {exc}", file=sys.stderr, flush=True)
                REPEATED.append(name)
                sample = contender()
            results[name].append(sample)
    return results


def fresh(target: Path) -> Path:
    """``target`` removed (a file or a directory) and every dirty page flushed, so neither
    freeing the previous copy nor another contender's writeback is timed."""
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
    os.sync()
    return target


def to_new_file(dest: Path, run: Callable[[], Sample]) -> Callable[[], Sample]:
    """``run``, writing to ``dest`` made :func:`fresh` first."""

    def go() -> Sample:
        fresh(dest)
        return run()

    return go


def with_user(url: str, user: str) -> str:
    """``url`` with Hover's current-user parameter, as the API asks of every request."""
    return f"{url}{'&' if '?' in url else '?'}current_user_email={user}"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


# -- 1. fan-out ------------------------------------------------------------------------------


def fanout(
    jobs: int, runs: int, latencies: Sequence[float], sequential: bool = True
) -> tuple[list[Row], list[str]]:
    """Job-detail fetches at each latency; ``sequential`` adds the one-at-a-time contenders."""
    rows: list[Row] = []
    targets: list[str] = []
    for latency in latencies:
        config = EmulatorConfig(jobs=jobs, include_seed_jobs=False, api_latency=latency)
        with Emulator.threaded(config) as emu:
            ids = emu.job_ids()
            # Sequential contenders at high latency fetch a slice; their rate is what compares.
            seq_ids = ids if latency * len(ids) <= 10 else ids[: max(20, int(10 / latency))]
            common = [
                "--base",
                emu.hover_url,
                "--token",
                config.token,
                "--user",
                sorted(config.user_emails)[0],
            ]

            def ours(c: int, chosen: list[int]) -> Callable[[], Sample]:
                args = [
                    *PY,
                    "benchmarks.contenders.async_fanout",
                    *common,
                    "--ids",
                    ",".join(map(str, chosen)),
                    "--concurrency",
                    str(c),
                ]
                return lambda: run_measured(args)

            def sync(t: int, chosen: list[int]) -> Callable[[], Sample]:
                args = [
                    *PY,
                    "benchmarks.contenders.sync_fanout",
                    *common,
                    "--ids",
                    ",".join(map(str, chosen)),
                    "--threads",
                    str(t),
                ]
                return lambda: run_measured(args)

            plan = {
                "hoverbentley c=1": (ours(1, seq_ids), len(seq_ids), 1),
                "hoverbentley c=16": (ours(16, ids), len(ids), 16),
                "hoverbentley c=64": (ours(64, ids), len(ids), 64),
                "requests sequential": (sync(1, seq_ids), len(seq_ids), 1),
                "requests 16 threads": (sync(16, ids), len(ids), 16),
            }
            if not sequential:
                plan = {k: v for k, v in plan.items() if v[2] > 1}
            samples = interleaved({k: v[0] for k, v in plan.items()}, runs)
        rates = {}
        for name, (_, n, conc) in plan.items():
            wall = median(samples[name], "wall")
            rates[name] = n / wall
            bound = n * latency / conc
            rows.append(
                [
                    f"{latency * 1000:.0f} ms",
                    name,
                    str(n),
                    f"{wall:.2f}",
                    f"{n / wall:.0f}",
                    f"{median(samples[name], 'cpu'):.2f}",
                    f"{median(samples[name], 'peak_rss_mib'):.0f}",
                    f"{bound:.2f}" if latency else "-",
                ]
            )
        if latency >= 0.1:
            wall64 = len(ids) / rates["hoverbentley c=64"]
            bound64 = len(ids) * latency / 64
            speedup = rates["hoverbentley c=64"] / rates["requests 16 threads"]
            targets.append(
                f"Fan-out at {latency * 1000:.0f} ms: c=64 took {wall64:.2f} s against a bound of"
                f" {bound64:.2f} s ({wall64 / bound64:.2f}x, target <= 1.2x):"
                f" {verdict(wall64 <= 1.2 * bound64)}; {speedup:.1f}x the threaded requests"
                f" baseline (target >= 3x): {verdict(speedup >= 3)}"
            )
    return rows, targets


# -- 2. bulk archive -------------------------------------------------------------------------


@contextmanager
def tls_context(tmp: Path) -> Iterator[tuple[ssl.SSLContext, str]]:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    pem = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    yield server, str(pem)


def bulk_config(quick: bool) -> EmulatorConfig:
    scale = 0.1 if quick else 0.25
    # Images ~200 KiB, reports 1-5 MiB, and a few CAD files of tens of MiB.
    jobs = max(8, int(320 * scale))
    sizes = {
        "image": (190 * KiB, 210 * KiB),
        "measurements": (16 * KiB, 64 * KiB),
        "cad_exports": (64 * KiB, 256 * KiB),
    }
    # Not started: its expected URLs are paths, the keys size_overrides takes.
    probe = Emulator(EmulatorConfig(jobs=jobs, include_seed_jobs=False, sizes=sizes))
    files = probe.expected_files()
    overrides: dict[str, int] = {}
    pdfs = [f for f in files if f.url.split("?")[0].endswith(("measurements.pdf", ".xlsx"))]
    for n, f in enumerate(pdfs[: max(10, int(200 * scale))]):
        overrides[f.url] = (1 + n % 5) * MiB
    cads = [f for f in files if f.url.split("?")[0].endswith(".dwg")]
    for f in cads[: max(2, int(10 * scale))]:
        overrides[f.url] = (25 if quick else 100) * MiB
    return EmulatorConfig(jobs=jobs, include_seed_jobs=False, sizes=sizes, size_overrides=overrides)


def signed_urls(emu: Emulator, config: EmulatorConfig, work: Path, verify: str | bool) -> int:
    """Write ``urls.txt`` (API URLs), ``signed.txt`` and ``aria2.txt`` (storage URLs); the
    number of bytes they hold."""
    user = sorted(config.user_emails)[0]
    expected = emu.expected_files()
    urls = [with_user(f.url, user) for f in expected]
    (work / "urls.txt").write_text("\n".join(urls))
    with requests.Session() as s:
        signed = [
            s.get(
                u,
                headers={"Authorization": f"Bearer {config.token}"},
                allow_redirects=False,
                verify=verify,
            ).headers["Location"]
            for u in urls
        ]
    (work / "signed.txt").write_text("\n".join(signed))
    (work / "aria2.txt").write_text("".join(f"{u}\n  out={n}.bin\n" for n, u in enumerate(signed)))
    return sum(f.size for f in expected)


def archive_env(emu: Emulator, config: EmulatorConfig, ca_file: str | None) -> dict[str, str]:
    env = dict(
        os.environ,
        HOVER_TOKEN=config.token,
        HOVER_CURRENT_USER_EMAIL=sorted(config.user_emails)[0],
        HOVER_BASE_URL=emu.hover_url,
    )
    if ca_file:
        env["HOVERBENTLEY_CA_FILE"] = ca_file
    return env


def archive_command(out: Path, concurrency: int) -> list[str]:
    return [
        *PY,
        "hoverbentley",
        "hover",
        "archive",
        str(out),
        "--all",
        "--archived",
        "--json",
        "-q",
        "--concurrency",
        str(concurrency),
        "--requests-per-minute",
        "0",
    ]


def aria2c_command(
    aria2c: str, listing: Path, out: Path, jobs: int, ca_file: str | None
) -> list[str]:
    """aria2c on the URL list ``listing`` (each with its ``out=`` name), ``jobs`` at a time."""
    return [
        aria2c,
        "-q",
        "-i",
        str(listing),
        "-d",
        str(out),
        "-j",
        str(jobs),
        "-x",
        "1",
        "--file-allocation=none",
        "--allow-overwrite=true",
        "--auto-file-renaming=false",
        "--console-log-level=error",
        *(["--ca-certificate", ca_file] if ca_file else []),
    ]


OURS = "hoverbentley hover archive"
#: The headline's native contender, doing the archive's work (see equal_work.py).
NATIVE = f"curl --parallel (list, details, redirects) + aria2c -j{CONCURRENCY}, equal work"
DIRECT = "hoverbentley, aria2c's signed URLs"
#: The stack's ceiling: plain aiohttp with our file work and nothing else.
BARE = "bare aiohttp + sha256 + fsync, signed URLs"
#: The same, given the API's URLs: aiohttp follows each redirect (and drops the token).
BARE_API = "bare aiohttp + sha256 + fsync, via the API's redirects"
ARIA = f"aria2c -j{CONCURRENCY}, pre-resolved signed URLs"


def headline_contenders(
    emu: Emulator,
    config: EmulatorConfig,
    work: Path,
    out: Path,
    env: dict[str, str],
    *,
    aria2c: str | None,
    ca_file: str | None,
) -> dict[str, Callable[[], Sample]]:
    """The archive, the equal-work native pair and aria2c on pre-resolved URLs, each writing
    into a fresh directory under ``out`` (the pair and aria2c where their tools are here)."""
    contenders: dict[str, Callable[[], Sample]] = {
        OURS: lambda: run_measured(archive_command(fresh(out / "ours"), CONCURRENCY), env)
    }
    pair = native_pair(emu, config, work, out / "native", ca_file)
    if pair is not None:
        contenders[NATIVE] = pair
    if aria2c:
        contenders[ARIA] = lambda: run_measured(
            aria2c_command(aria2c, work / "aria2.txt", fresh(out / "aria"), CONCURRENCY, ca_file)
        )
    return contenders


def native_pair(
    emu: Emulator, config: EmulatorConfig, work: Path, out: Path, ca_file: str | None
) -> Callable[[], Sample] | None:
    """The equal-work pair (curl resolving, then aria2c) writing under ``out``; ``None``
    without curl or aria2c."""
    curl, aria2c = shutil.which("curl"), shutil.which("aria2c")
    if not (curl and aria2c):
        return None
    user = sorted(config.user_emails)[0]
    cfg = work / "curl.cfg"
    urls = [with_user(f.url, user) for f in emu.expected_files()]
    jobs = emu.job_ids(archived=True)

    def run() -> Sample:
        target = fresh(out)
        target.mkdir(parents=True)
        text = curl_config(emu.hover_url, config.token, user, jobs, urls, target)
        cfg.write_text(text + (f'cacert = "{ca_file}"\n' if ca_file else ""))
        listing = work / "resolved.txt"
        command = aria2c_command(aria2c, listing, target, CONCURRENCY, ca_file)
        return run_measured(pair_command(curl, command, cfg, work / "locations.txt", listing))

    return run


def per_1k(cpu: float, files: int) -> str:
    """CPU seconds per 1,000 files."""
    return f"{cpu / files * 1000:.2f}"


def load(samples: Sequence[Sample]) -> str:
    """The median 1-minute load average at the end of the runs."""
    return f"{median(samples, 'load'):.1f}"


def uvloop_installed() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def on_uvloop(module: str, *args: str) -> list[str]:
    """``python -m MODULE ARGS`` on uvloop where it is installed, as the command line runs."""
    wrapper = ["benchmarks.contenders.with_uvloop"] if uvloop_installed() else []
    return [*PY, *wrapper, module, *args]


def bulk_rows(
    scheme: str, samples: dict[str, list[Sample]], files: int, total: int
) -> tuple[list[Row], dict[str, tuple[float, float]]]:
    """Table rows, and each contender's (bytes/s, CPU s per GB)."""
    rows: list[Row] = []
    speeds: dict[str, tuple[float, float]] = {}
    for name, got in samples.items():
        wall = median(got, "wall")
        cpu = median(got, "cpu")
        speeds[name] = (total / wall, cpu / (total / 1e9))
        rows.append(
            [
                scheme.upper(),
                name,
                str(files),
                f"{total / MiB:.0f}",
                f"{wall:.2f}",
                f"{total / MiB / wall:.0f}",
                f"{files / wall:.0f}",
                f"{cpu:.2f}",
                f"{cpu / (total / 1e9):.2f}",
                per_1k(cpu, files),
                f"{median(got, 'peak_rss_mib'):.0f}",
                load(got),
            ]
        )
    return rows, speeds


def compared(label: str, speeds: dict[str, tuple[float, float]]) -> str:
    """The target line of one bulk table: ours against the equal-work pair, then the rest."""
    if NATIVE not in speeds:
        return f"{label}: curl or aria2c not installed (apt-get install curl aria2): skipped"
    ratio = speeds[OURS][0] / speeds[NATIVE][0]
    cpu_ratio = speeds[OURS][1] / speeds[NATIVE][1]
    line = (
        f"{label}: {ratio:.2f}x the throughput of the equal-work pair (curl resolving, then"
        f" aria2c; bar >= 0.9x, aim 1.0x): {verdict(ratio >= 0.9)}; CPU-s/GB"
        f" {speeds[OURS][1]:.2f} against {speeds[NATIVE][1]:.2f}, {cpu_ratio:.2f}x (aim <= 1.5x):"
        f" {verdict(cpu_ratio <= 1.5)}"
    )
    if ARIA in speeds:
        pre = speeds[OURS][0] / speeds[ARIA][0]
        line += (
            f"; {pre:.2f}x aria2c on pre-resolved signed URLs (aim >= 0.6x): {verdict(pre >= 0.6)}"
        )
    if DIRECT in speeds:
        line += (
            f"; our downloader fed those signed URLs, {speeds[DIRECT][0] / speeds[ARIA][0]:.2f}x"
        )
    if BARE in speeds:
        line += (
            f"; a bare aiohttp client doing the same file work on them"
            f" {speeds[BARE][0] / speeds[ARIA][0]:.2f}x"
        )
    if BARE_API in speeds:
        line += (
            f"; the bare client following the API's redirects, as the archive must,"
            f" {speeds[BARE_API][0] / speeds[NATIVE][0]:.2f}x the equal-work pair"
        )
    return line


def bulk(
    config: EmulatorConfig, runs: int, work: Path, out: Path, medium: str, full: bool
) -> tuple[list[Row], list[str]]:
    """The mixed archive over HTTP and HTTPS, written under ``out``; ``full`` adds the
    requests baseline, our downloader on aria2c's URLs and the bare aiohttp client."""
    rows: list[Row] = []
    targets: list[str] = []
    aria2c = shutil.which("aria2c")
    for scheme in ("http", "https"):
        with tls_context(work) as (server_ctx, ca_pem):
            tls = server_ctx if scheme == "https" else None
            ca_file = ca_pem if scheme == "https" else None
            with Emulator.threaded(config, ssl_context=tls) as emu:
                files = len(emu.expected_files())
                total = signed_urls(emu, config, work, ca_file or True)
                env = archive_env(emu, config, ca_file)
                contenders = headline_contenders(
                    emu, config, work, out, env, aria2c=aria2c, ca_file=ca_file
                )
                if full:
                    contenders[f"requests, {CONCURRENCY} threads"] = lambda: run_measured(
                        [
                            *PY,
                            "benchmarks.contenders.sync_download",
                            *("--urls", str(work / "urls.txt"), "--out", str(fresh(out / "sync"))),
                            *("--token", config.token, "--threads", str(CONCURRENCY)),
                            *("--ca-file", ca_file or ""),
                        ]
                    )
                    signed, api = str(work / "signed.txt"), str(work / "urls.txt")
                    contenders[DIRECT] = lambda: run_measured(
                        on_uvloop(
                            "benchmarks.contenders.url_list",
                            *("--urls", signed, "--out", str(fresh(out / "d"))),
                            *("--base", emu.hover_url, "--concurrency", str(CONCURRENCY)),
                            *("--ca-file", ca_file or ""),
                        )
                    )
                    contenders[BARE] = lambda: run_measured(
                        on_uvloop(
                            "benchmarks.contenders.bare_aiohttp",
                            *("--urls", signed, "--out", str(fresh(out / "b"))),
                            *("--concurrency", str(CONCURRENCY), "--ca-file", ca_file or ""),
                        )
                    )
                    contenders[BARE_API] = lambda: run_measured(
                        on_uvloop(
                            "benchmarks.contenders.bare_aiohttp",
                            *("--urls", api, "--out", str(fresh(out / "ba"))),
                            *("--header", f"Authorization: Bearer {config.token}"),
                            *("--concurrency", str(CONCURRENCY), "--ca-file", ca_file or ""),
                        )
                    )
                samples = interleaved(contenders, runs)
        got, speeds = bulk_rows(scheme, samples, files, total)
        rows += got
        targets.append(compared(f"Bulk archive to {medium} over {scheme.upper()}", speeds))
    return rows, targets


def small_config(files: int) -> EmulatorConfig:
    """About ``files`` files of 1-20 KiB (a generated job holds about 20)."""
    sizes = {k: (1 * KiB, 20 * KiB) for k in ("image", "measurements", "cad_exports")}
    return EmulatorConfig(jobs=max(1, files // 20), include_seed_jobs=False, sizes=sizes)


def small_files(
    counts: Sequence[int], runs: int, work: Path, out: Path
) -> tuple[list[Row], list[str]]:
    """Many small files: files/s and CPU per 1,000 files against the equal-work pair and
    aria2c on pre-resolved URLs, and our peak RSS at two file counts."""
    rows: list[Row] = []
    rates: dict[tuple[int, str], tuple[float, float]] = {}
    rss: dict[int, float] = {}
    aria2c = shutil.which("aria2c")
    for count in counts:
        config = small_config(count)
        with Emulator.threaded(config) as emu:
            files = len(emu.expected_files())
            total = signed_urls(emu, config, work, True)
            env = archive_env(emu, config, None)
            contenders = headline_contenders(
                emu, config, work, out, env, aria2c=aria2c, ca_file=None
            )
            samples = interleaved(contenders, runs)
        for name, got in samples.items():
            wall, cpu = median(got, "wall"), median(got, "cpu")
            rates[(count, name)] = (files / wall, cpu / files * 1000)
            rows.append(
                [
                    name,
                    str(files),
                    f"{total / MiB:.0f}",
                    f"{wall:.2f}",
                    f"{files / wall:.0f}",
                    f"{cpu:.2f}",
                    per_1k(cpu, files),
                    f"{median(got, 'peak_rss_mib'):.0f}",
                    load(got),
                ]
            )
        rss[count] = median(samples[OURS], "peak_rss_mib")
    small, big = min(counts), max(counts)
    ours = rates[(big, OURS)]
    line = f"About {big:,} small files (1-20 KiB): {ours[0]:.0f} files/s"
    if (big, NATIVE) in rates:
        native = rates[(big, NATIVE)]
        ratio, cpu_ratio = ours[0] / native[0], ours[1] / native[1]
        line += (
            f", {ratio:.2f}x the equal-work pair's {native[0]:.0f} (bar >= 0.9x, aim 1.0x):"
            f" {verdict(ratio >= 0.9)}; CPU per 1,000 files {ours[1]:.2f} s against"
            f" {native[1]:.2f} s, {cpu_ratio:.2f}x (aim <= 1.5x): {verdict(cpu_ratio <= 1.5)}"
        )
    if (big, ARIA) in rates:
        line += f"; {ours[0] / rates[(big, ARIA)][0]:.2f}x aria2c on pre-resolved URLs"
    flat = rss[big] <= 1.25 * rss[small]
    line += (
        f"; peak RSS {rss[big]:.0f} MiB against {rss[small]:.0f} MiB at {small:,} files"
        f" (flat in file count, within 25%): {verdict(flat)}"
    )
    return rows, [line]


def first_download(files: int, out: Path) -> tuple[list[Row], list[str]]:
    """Seconds from starting ``hover archive`` on a plan of ``files`` files to its first
    request of all (start-up) and to its first request to the storage host (the plan must
    stream, not wait for the whole listing)."""
    config = small_config(files)
    rows: list[Row] = []
    firsts: list[float] = []
    waits: list[float] = []
    with Emulator.threaded(config) as emu:
        planned = len(emu.expected_files())
        env = archive_env(emu, config, None)
        for _ in range(3):
            seen = len(emu.requests)
            started = time.perf_counter()
            proc = subprocess.Popen(
                archive_command(fresh(out / "ours"), CONCURRENCY),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            first = waited = float("inf")
            try:
                while proc.poll() is None and time.perf_counter() - started < 30:
                    if first == float("inf") and len(emu.requests) > seen:
                        first = time.perf_counter() - started
                    if any(r.target == "storage" for r in emu.requests[seen:]):
                        waited = time.perf_counter() - started
                        break
                    time.sleep(0.002)
            finally:
                proc.terminate()
                proc.wait()
            firsts.append(first)
            waits.append(waited)
    first, wait = statistics.median(firsts), statistics.median(waits)
    rows.append([f"{planned:,}", f"{first:.2f}", f"{wait:.2f}", f"{os.getloadavg()[0]:.1f}"])
    return rows, [
        f"Start-up: the command line's first request after {first:.2f} s (aim <= 0.2 s):"
        f" {verdict(first <= 0.2)}",
        f"A plan of {planned:,} files: first download request after {wait:.2f} s,"
        f" interpreter start-up included (target <= 2 s): {verdict(wait <= 2)}",
    ]


# -- 3. one large file -----------------------------------------------------------------------


BARE_ONE = "bare aiohttp + sha256 + fsync"


def big_file(sizes: Sequence[int], runs: int, out: Path) -> tuple[list[Row], list[str]]:
    """One file of each size in ``sizes`` (the largest against curl); ours at every size,
    so peak RSS can be seen to stay flat."""
    size = max(sizes)
    # Not started: its expected URLs are paths, the keys size_overrides takes.
    paths = [
        f.url for f in Emulator(EmulatorConfig(jobs=1, include_seed_jobs=False)).expected_files()
    ]
    overrides = dict(zip(paths, sorted(sizes, reverse=True), strict=False))
    config = EmulatorConfig(jobs=1, include_seed_jobs=False, size_overrides=overrides)
    curl = shutil.which("curl")
    with Emulator.threaded(config) as emu:
        user = sorted(config.user_emails)[0]
        url = emu.hover_url + paths[0]

        def ours(path: str, name: str) -> list[str]:
            return on_uvloop(
                "benchmarks.contenders.one_file",
                *("--base", emu.hover_url, "--token", config.token, "--user", user),
                *("--url", emu.hover_url + path, "--out", str(out / name)),
            )

        contenders: dict[str, Callable[[], Sample]] = {}
        for path, n in sorted(overrides.items(), key=lambda kv: -kv[1]):
            name = f"hoverbentley download ({n // MiB} MiB)"
            command = ours(path, f"big.{n}")
            contenders[name] = to_new_file(out / f"big.{n}", partial(run_measured, command))
        if curl:
            fetch = [curl, "-sSfL", "-o", str(out / "big.curl")]
            fetch += ["-H", f"Authorization: Bearer {config.token}", with_user(url, user)]
            contenders["curl -L"] = to_new_file(out / "big.curl", lambda: run_measured(fetch))
            # hoverbentley fsyncs each file before renaming it into place; this row gives
            # curl the same durability, for comparison (the target is against plain curl).
            synced = ["sh", "-c", '"$@" && sync "$0"', str(out / "big.curl"), *fetch]
            contenders["curl -L, then fsync"] = to_new_file(
                out / "big.curl", lambda: run_measured(synced)
            )
            # What the sha256 we compute of every file costs a C tool: hash the file after.
            hashed = ["sh", "-c", '"$@" && sha256sum "$0" >/dev/null', str(out / "big.curl")]
            contenders["curl -L, then sha256sum"] = to_new_file(
                out / "big.curl", lambda: run_measured([*hashed, *fetch])
            )
        bare = [*PY, "benchmarks.contenders.bare_aiohttp", "--out", str(out / "big.bare")]
        bare += ["--header", f"Authorization: Bearer {config.token}", "--url", with_user(url, user)]
        contenders[BARE_ONE] = to_new_file(out / "big.bare", lambda: run_measured(bare))
        samples = interleaved(contenders, runs)
        sizes_of = {f"hoverbentley download ({n // MiB} MiB)": n for n in overrides.values()}
    rows = []
    speeds = {}
    for name, got in samples.items():
        n = sizes_of.get(name, size)
        wall = median(got, "wall")
        speeds[name] = n / wall
        rows.append(
            [
                name,
                f"{n / MiB:.0f}",
                f"{wall:.2f}",
                f"{n / MiB / wall:.0f}",
                f"{median(got, 'cpu'):.2f}",
                f"{median(got, 'cpu') / (n / 1e9):.2f}",
                f"{median(got, 'peak_rss_mib'):.0f}",
                load(got),
            ]
        )
    big = f"hoverbentley download ({size // MiB} MiB)"
    small = f"hoverbentley download ({min(sizes) // MiB} MiB)"
    rss = median(samples[big], "peak_rss_mib")
    rss_small = median(samples[small], "peak_rss_mib")
    flat = rss <= rss_small + 10
    targets = []
    line = f"One {size // MiB} MiB file: "
    if curl:
        ratio = speeds[big] / speeds["curl -L"]
        hashed_ratio = speeds[big] / speeds["curl -L, then sha256sum"]
        line += (
            f"{ratio:.2f}x curl's throughput (bar >= 0.75x, aim 0.9x): {verdict(ratio >= 0.75)};"
            f" {hashed_ratio:.2f}x 'curl -L, then sha256sum', the same work (keep >= 1.2x):"
            f" {verdict(hashed_ratio >= 1.2)}; "
        )
        line += (
            f"a bare aiohttp client doing the same file work (the ceiling of this stack here)"
            f" {speeds[BARE_ONE] / speeds['curl -L']:.2f}x; "
        )
    line += (
        f"peak RSS {rss:.0f} MiB (target < 100 MiB): {verdict(rss < 100)}, against"
        f" {rss_small:.0f} MiB for {min(sizes) // MiB} MiB (flat, within 10 MiB): {verdict(flat)}"
    )
    targets.append(line)
    return rows, targets


# -- 4. decoding -----------------------------------------------------------------------------


def decode() -> tuple[list[Row], list[str]]:
    results = cast(dict[str, dict[str, float]], run_measured([*PY, "benchmarks.decoding"]).output)
    rows, targets = [], []
    for payload, timings in results.items():
        base = timings["msgspec Structs"]
        for name, seconds in timings.items():
            rows.append([payload, name, f"{seconds * 1e6:.0f}", f"{seconds / base:.1f}"])
        ratio = timings["pydantic v2"] / base
        targets.append(
            f"Decoding the {payload}: msgspec {ratio:.1f}x faster than pydantic v2"
            f" (target >= 5x): {verdict(ratio >= 5)}"
        )
    return rows, targets


def table(header: Row, rows: list[Row]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def mount_of(path: Path) -> tuple[str, str]:
    """The mount point and file system type that hold ``path``."""
    best = ("/", "unknown")
    resolved = str(path.resolve())
    for line in Path("/proc/mounts").read_text().splitlines():
        _, point, kind, *_ = line.split()
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[0]):
            best = (point, kind)
    return best


def tmpfs_root(requested: str | None, need: int) -> Path:
    """A directory on tmpfs with ``need`` bytes free: ``requested``, else /dev/shm, else a
    tmpfs mounted at /mnt/hb-bench (root only)."""
    candidates = [Path(requested)] if requested else [Path("/dev/shm"), Path("/mnt/hb-bench")]  # noqa: S108
    for root in candidates:
        if root.is_dir() and mount_of(root)[1] == "tmpfs" and shutil.disk_usage(root).free > need:
            return root
    mnt = Path("/mnt/hb-bench")
    mnt.mkdir(parents=True, exist_ok=True)
    size = f"size={need // MiB + 256}m"
    subprocess.run(["mount", "-t", "tmpfs", "-o", size, "tmpfs", str(mnt)], check=True)
    return mnt


BULK_HEADER = [
    "protocol",
    "contender",
    "files",
    "MiB",
    "wall s",
    "MiB/s",
    "files/s",
    "CPU s",
    "CPU-s/GB",
    "CPU-s/1k files",
    "peak RSS MiB",
    "load",
]
NAMES = [
    "fanout",
    "bulk",
    "disk",
    "small",
    "legs",
    "stream",
    "bigfile",
    "decode",
    "stores",
    "serve",
]
QUICK = ["fanout", "bulk", "small", "stream", "bigfile", "decode"]


def compile_package() -> None:
    """Write the package's bytecode, as ``pip install`` does.

    The bench session installs the checkout in editable mode, where an environment that sets
    ``PYTHONDONTWRITEBYTECODE`` (as CI images often do) leaves no bytecode behind: every
    contender process would compile our modules again (about 0.1 s of CPU), a cost an
    installed package never has and the other contenders never pay.
    """
    import hoverbentley

    compileall.compile_dir(Path(hoverbentley.__file__).parent, quiet=1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for iterating")
    parser.add_argument(
        "--runs", type=int, help="runs per contender, the median quoted (default 5; --quick 3)"
    )
    parser.add_argument("--only", nargs="*", choices=NAMES)
    parser.add_argument("--tmpfs", help="a directory on tmpfs (default /dev/shm)")
    parser.add_argument("--disk", help="a directory on disk (default: the temp directory)")
    parser.add_argument(
        "--out",
        help="where the results go (default benchmarks/RESULTS.md; with --only, nowhere but the"
        " console: a partial run must not replace the full one)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    # --quick leaves out what takes long and says least: the disk table (disk-bound), the
    # object stores (servers of others) and the slowest contenders; --only brings them back.
    chosen = set(args.only or (QUICK if quick else NAMES))
    args.runs = args.runs or (3 if quick else 5)
    compile_package()
    big_sizes = (64 * MiB, 256 * MiB) if quick else (256 * MiB, 1024 * MiB)
    sections: list[str] = []
    targets: list[str] = []
    started = time.monotonic()
    ram_root = tmpfs_root(args.tmpfs, 2 * max(big_sizes) + 512 * MiB)
    disk_parent = Path(args.disk or tempfile.gettempdir())
    with (
        tempfile.TemporaryDirectory(prefix="hb-bench-") as tmp,
        tempfile.TemporaryDirectory(prefix="hb-bench-", dir=ram_root) as ram,
        tempfile.TemporaryDirectory(prefix="hb-bench-out-", dir=disk_parent) as disk,
    ):
        work, ram_out, disk_out = Path(tmp), Path(ram), Path(disk)
        disk_kind = mount_of(disk_out)[1]
        media = (
            f"tmpfs output under {ram_root}; disk output under {disk_parent} ({disk_kind},"
            f" {mount_of(disk_out)[0]})"
        )

        def emit(title: str, header: Row, rows: list[Row], found: list[str]) -> None:
            sections.append(f"## {title}\n\n" + table(header, rows))
            targets.extend(found)
            print(sections[-1], flush=True)

        if "fanout" in chosen:
            latencies = (0.1,) if quick else (0.0, 0.02, 0.1)
            rows, t = fanout(200 if quick else 500, args.runs, latencies, sequential=not quick)
            header = ["latency", "contender", "requests", "wall s", "req/s", "CPU s"]
            emit(
                "Fan-out of job-detail fetches",
                [*header, "peak RSS MiB", "latency bound s"],
                rows,
                t,
            )
        if "bulk" in chosen:
            rows, t = bulk(bulk_config(quick), args.runs, work, ram_out, "tmpfs", full=not quick)
            emit("Bulk archive of a mixed set, to tmpfs (headline)", BULK_HEADER, rows, t)
        if "disk" in chosen:
            rows, t = bulk(bulk_config(quick), args.runs, work, disk_out, "disk", full=False)
            emit(
                f"Bulk archive of a mixed set, to disk ({disk_kind}; disk-bound)",
                BULK_HEADER,
                rows,
                t,
            )
        if "small" in chosen:
            counts = (200, 2_000) if quick else (2_000, 20_000)
            rows, t = small_files(counts, min(args.runs, 3), work, ram_out)
            header = ["contender", "files", "MiB", "wall s", "files/s", "CPU s"]
            header += ["CPU-s/1k files", "peak RSS MiB", "load"]
            emit("Small files (1-20 KiB), to tmpfs", header, rows, t)
        if "legs" in chosen:
            from .legs import HEADER as LEGS_HEADER
            from .legs import legs_benchmark

            rows, t = legs_benchmark(quick, args.runs, work, ram_out)
            emit("Storage leg candidates, signed URLs, to tmpfs", LEGS_HEADER, rows, t)
        if "stream" in chosen:
            rows, t = first_download(10_000 if quick else 50_000, ram_out)
            emit(
                "A large plan starts at once",
                ["planned files", "first request after s", "first download after s", "load"],
                rows,
                t,
            )
        if "bigfile" in chosen:
            rows, t = big_file(big_sizes, args.runs, ram_out)
            header = ["contender", "MiB", "wall s", "MiB/s", "CPU s", "CPU-s/GB", "peak RSS MiB"]
            header.append("load")
            emit("One large file, to tmpfs", header, rows, t)
        if "decode" in chosen:
            rows, t = decode()
            emit("Decoding", ["payload", "decoder", "µs per decode", "x msgspec"], rows, t)
        if "stores" in chosen:
            from .stores import HEADER, store_benchmark

            try:
                rows, t = store_benchmark(bulk_config(quick), args.runs, work, ram_out)
            except RuntimeError as exc:  # the servers are others' programs: say so, keep the rest
                # The whole error on the console; its start (which names the cause) in RESULTS.md.
                print(f"object stores: {exc}", file=sys.stderr)
                rows, t = [], [f"Archive into object stores: not measured, {exc}"[:2500]]
            emit("Archive into object stores (moto, Azurite), against tmpfs", HEADER, rows, t)
        if "serve" in chosen:
            from .serve import HEADER as SERVE_HEADER
            from .serve import serve_benchmark

            rows, t = serve_benchmark(ram_out, quick)
            emit("hoverbentley serve: webhook events to archived jobs", SERVE_HEADER, rows, t)
    elapsed = time.monotonic() - started
    flags = " -- --quick" if quick else ""
    intro = (
        f"Machine: {machine()}; {media}. Everything on loopback against the embedded emulator,"
        " which shares the machine's cores with the contender. Each figure is the median of"
        f" {args.runs} runs (small files: {min(args.runs, 3)}); contenders ran interleaved,"
        " each in its own process (CPU and peak RSS are that process's own), at the same"
        f" concurrency ({CONCURRENCY}). Reproduce with `nox -s bench{flags}`."
        f" Total time: {elapsed:.0f} s."
    )
    notes = (
        "Notes: sequential contenders at 20 and 100 ms fetch a slice of the jobs (their rate is"
        " what compares); fan-out wall times are measured inside each process, without "
        "interpreter start-up. The headline contender is the equal-work pair "
        "(`benchmarks/equal_work.py`): one `curl --parallel --parallel-max 16` run over a "
        "config file that fetches every page of the job list, every job's details and every "
        "API file URL with the same bearer token and current-user parameter, reading each "
        "redirect's `Location` with `-w` (no body followed), then `aria2c -j16` on the resolved "
        "URLs; its time and CPU are both steps'. The row 'aria2c, pre-resolved signed URLs' "
        "gets the storage URLs resolved once before timing (it would send the bearer token to "
        "the storage host if it followed the redirects itself): it does less work than the "
        "archive, which lists the jobs, fetches every job record and follows the API's redirect "
        "of every file itself; the row 'hoverbentley, aria2c's signed URLs' is our downloader "
        "given that input. The 'bare aiohttp' rows are the ceiling of the aiohttp stack: one "
        "plain aiohttp GET per file with the same hashing, size check, fsync and rename, on the "
        "same event loop as the row of ours beside it, and nothing else (no retries, resume, "
        "stall watch, manifest or progress; `benchmarks/contenders/bare_aiohttp.py`), given "
        "either aria2c's signed URLs or the API's URLs, whose redirects aiohttp follows. "
        "hoverbentley and the requests baseline hash (sha256), check the size of and make "
        "durable every file; aria2c 1.36 fsyncs every file it writes (2-3 fsync calls a file "
        "under strace) but "
        "hashes nothing, curl does neither: 'curl -L, then fsync' adds the fsync, 'curl -L, "
        "then sha256sum' the hash. Bulk and large-file contenders write to new files after a "
        "`sync`, so no one pays for another's writeback, and their wall times include "
        "interpreter start-up. CPU-s/GB is user + system CPU seconds per 10^9 bytes, "
        "CPU-s/1k files the same per 1,000 files; 'load' is the median 1-minute load average "
        "at the end of the contender's runs (the machine's other work included)."
    )
    if REPEATED:
        notes += " Runs that failed once and were run again: " + ", ".join(REPEATED) + "."
    # The profile note is kept by hand beside this file; it is read when the run ends.
    profile = ROOT / "where_the_time_goes.md"
    extra = [profile.read_text().strip()] if profile.exists() else []
    text = "\n\n".join(["# Benchmark results", intro, "## Targets", *sections, notes, *extra])
    text = text.replace("## Targets", "## Targets\n\n" + "\n".join(f"- {t}" for t in targets), 1)
    out = args.out or (None if args.only else str(ROOT / "RESULTS.md"))
    if out is not None:
        Path(out).write_text(text + "\n")
    print("\n".join(targets))
    if out is None:
        print("a partial run (--only): RESULTS.md left as it was; --out FILE keeps these tables")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
