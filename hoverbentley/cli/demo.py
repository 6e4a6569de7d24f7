"""``hoverbentley demo`` and ``hoverbentley emulator``: the embedded emulator at work."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
import msgspec

from ..archive import ArchiveSummary
from ..config import HttpConfig
from .azurite import local_azurite
from .common import check_out, sha256_file
from .demo_v2 import V2Demo, archive_v2_job
from .options import add_archive_options
from .progress import summary_text
from .report import run_archive
from .settings import ArchiveRun, Handler, Output, port, positive_int

logger = logging.getLogger("hoverbentley.cli")

DEFAULT_DEMO_DIR = "hoverbentley-demo"


@dataclass(frozen=True)
class DemoCommand:
    """``demo [OUT]``: how many jobs, and whether into a local Azurite."""

    out: str
    jobs: int
    azurite: bool
    run: ArchiveRun
    output: Output


@dataclass(frozen=True)
class EmulatorCommand:
    """``emulator``: where to listen, how many jobs to generate, and what faults to inject."""

    host: str
    port: int
    storage_port: int
    bentley_port: int
    jobs: int
    faults: dict[str, float] | None
    latency: tuple[float, float] | None
    fault_targets: str
    fault_seed: int
    complete_jobs: int
    complete_v2_jobs: int
    complete_every: float
    webhook_faults: dict[str, float] | None
    webhook_backoff: float


#: ``--faults`` names, and the emulator's fault each stands for.
FAULTS = {
    "500": "error_500",
    "503": "error_503",
    "429": "rate_limit",
    "reset": "reset",
    "truncate": "truncate",
    "slow": "slow",
    "stall": "stall",
}


def fault_rates(text: str, known: Sequence[str] = tuple(FAULTS)) -> dict[str, float]:
    """An argparse type: ``503=0.1,reset=0.05``, each a share of requests from 0 to 1."""
    rates: dict[str, float] = {}
    for item in (i.strip() for i in text.split(",") if i.strip()):
        name, sep, value = item.partition("=")
        if name not in known or not sep:
            raise argparse.ArgumentTypeError(
                f"not a fault: {item!r} (NAME=SHARE with NAME one of {', '.join(known)})"
            )
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not 0 <= rate <= 1:
            raise argparse.ArgumentTypeError(f"{name}: a share from 0 to 1, not {value!r}")
        rates[name] = rate
    if not rates:
        raise argparse.ArgumentTypeError(f"name at least one fault, e.g. {known[0]}=0.1")
    return rates


def delivery_fault_rates(text: str) -> dict[str, float]:
    """An argparse type: ``duplicate=0.1,bad-signature=0.05``, shares of webhook events."""
    from ..emulator.config import DELIVERY_FAULTS

    return fault_rates(text, DELIVERY_FAULTS)


def count(text: str) -> int:
    """An argparse type: a whole number from 0."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"a whole number from 0, not {text!r}")
    return int(text)


def seconds(text: str) -> float:
    """An argparse type: seconds from 0."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 86400:
        raise argparse.ArgumentTypeError(f"seconds from 0, not {text!r}")
    return value


def latency_range(text: str) -> tuple[float, float]:
    """An argparse type: ``0.05`` or ``0.01-0.2`` seconds added to each answer."""
    low, _, high = text.partition("-")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not seconds or a range of them: {text!r}") from None
    if not all(0 <= b < 3600 for b in bounds) or bounds[0] > bounds[1]:
        raise argparse.ArgumentTypeError(f"seconds from 0, low before high: {text!r}")
    return bounds


async def cmd_demo(s: DemoCommand) -> int:
    if s.azurite:
        with local_azurite() as container:
            prefix = s.out if s.out != DEFAULT_DEMO_DIR else "archive"
            return await _demo(s, f"{container}/{prefix.strip('/')}")
    return await _demo(s, s.out)


async def _demo(s: DemoCommand, into: str) -> int:
    """The demo, archiving into ``into`` (OUT, or the prefix of it in Azurite)."""
    from ..archive.hover_source import HoverSource
    from ..emulator import Emulator, EmulatorConfig
    from ..hover.client import HoverClient

    out = check_out(into)
    config = EmulatorConfig(jobs=s.jobs)
    async with Emulator(config) as emu:
        user = sorted(config.user_emails)[0]
        if not s.output.json:
            print(f"emulator: Hover API at {emu.hover_url}, file storage at {emu.storage_url}")
        async with HoverClient(
            token=config.token,
            current_user_email=user,
            base_url=emu.hover_url,
            # The emulator is local: no need to stay under Hover's 120 requests a minute.
            http=HttpConfig(requests_per_minute=None),
        ) as client:
            summary = await run_archive(s.run, s.output, HoverSource(client, archived=True), out)
        if isinstance(out, Path):
            mismatched = await anyio.to_thread.run_sync(_verify, emu, out, summary)
        else:
            mismatched = await _verify_store(emu, out)
        if not s.output.json:
            print(summary_text(summary))
            print(_verdict(mismatched, "every archived file matches the emulator's sha256"))
        if not isinstance(out, Path):
            # The store demo shows the Hover archive; the v2 part needs a local directory.
            _log(summary, None)
            if s.output.json:
                _print_json(summary, None)
            else:
                print(f"archived into {out}/ of a local Azurite, in memory: gone with the demo")
            return 0 if summary.ok and not mismatched else 1
        if not s.output.json:
            print(
                f"emulator: Bentley Reality Modeling v2 at {emu.reality_modeling_v2_url};"
                " archiving one job: a reality data and a file in the iTwin's bucket"
            )
        v2 = await archive_v2_job(s.run, s.output, emu, out)
    _log(summary, v2)
    if s.output.json:
        _print_json(summary, v2)
    else:
        print(summary_text(v2.summary))
        print(_verdict(v2.mismatched, "every archived v2 output matches the emulator's sha256"))
        print(
            f"look in {out}/: index.csv lists the jobs, manifest.jsonl every file with its"
            f" sha256, hover/<job id>/ holds job.json and each model's files,"
            f" bentley/{v2.job_id}/ the v2 job's job.json and outputs/"
        )
    ok = summary.ok and v2.summary.ok and not mismatched and not v2.mismatched
    return 0 if ok else 1


def _verdict(mismatched: list[str], fine: str) -> str:
    if mismatched:
        return f"checksum mismatch against the emulator: {', '.join(mismatched[:5])}"
    return fine


def _log(summary: ArchiveSummary, v2: V2Demo | None) -> None:
    logger.info("archive finished", extra={"summary": msgspec.to_builtins(summary)})
    if v2 is not None:
        logger.info("v2 archive finished", extra={"summary": msgspec.to_builtins(v2.summary)})


def _print_json(summary: ArchiveSummary, v2: V2Demo | None) -> None:
    """One JSON line: the Hover run's summary, and the v2 part under ``bentley_v2``."""
    document = msgspec.to_builtins(summary)
    if v2 is not None:
        document["bentley_v2"] = {
            "job_id": v2.job_id,
            "mismatched": v2.mismatched,
            **msgspec.to_builtins(v2.summary),
        }
    sys.stdout.buffer.write(msgspec.json.encode(document) + b"\n")
    sys.stdout.flush()


async def _verify_store(emu: object, url: str) -> list[str]:
    """The archived files in the store at ``url`` whose bytes differ from the emulator's."""
    from ..archive.object_store import ObjectStoreDestination
    from ..emulator import Emulator

    assert isinstance(emu, Emulator)
    store = ObjectStoreDestination(url)
    await store.open()
    expected = {f.url: f.sha256 for f in emu.expected_files()}
    bad: list[str] = []
    for path in sorted(store.entries()):
        entry = store.entry(path)
        if entry is None or entry.status != "ok" or entry.kind == "job":
            continue
        if entry.url not in expected or await store.sha256(path) != expected[entry.url]:
            bad.append(entry.path)
    return bad


def _verify(emu: object, out: Path, summary: ArchiveSummary) -> list[str]:
    from ..archive.manifest import Manifest
    from ..emulator import Emulator

    assert isinstance(emu, Emulator)
    manifest = Manifest(out)
    manifest.load()
    expected = {f.url: f.sha256 for f in emu.expected_files()}
    bad: list[str] = []
    for entry in manifest.entries.values():
        if entry.status != "ok" or entry.kind == "job" or not entry.path.startswith("hover/"):
            continue
        path = out / entry.path
        if (
            entry.url not in expected
            or not path.exists()
            or sha256_file(path) != expected[entry.url]
        ):
            bad.append(entry.path)
    return bad


def cmd_emulator(s: EmulatorCommand) -> int:
    """Serve in the foreground (not under the CLI's event loop), so Ctrl-C stops it at once."""
    from ..emulator import EmulatorConfig, FaultConfig, WebhookConfig, serve

    targets: Literal["storage", "api", "all"] = (
        "all" if s.fault_targets == "all" else "api" if s.fault_targets == "api" else "storage"
    )
    rates: dict[str, Any] = {FAULTS[name]: rate for name, rate in (s.faults or {}).items()}
    faults = dataclasses.replace(
        FaultConfig(latency=s.latency or (0.0, 0.0), targets=targets, seed=s.fault_seed), **rates
    )
    if faults.any:
        shares = ", ".join(f"{n} {r:.0%}" for n, r in (s.faults or {}).items()) or "none"
        delay = f"; latency {s.latency[0]:g}-{s.latency[1]:g} s" if s.latency else ""
        print(f"Faults       {shares} on the {s.fault_targets} hosts{delay} (seed {s.fault_seed})")
    webhooks = WebhookConfig(faults=s.webhook_faults or {}, backoff=s.webhook_backoff)
    if s.webhook_faults:
        shares = ", ".join(f"{n} {r:.0%}" for n, r in s.webhook_faults.items())
        print(f"Deliveries   {shares} of the webhook events")
    try:
        serve(
            EmulatorConfig(jobs=s.jobs, faults=faults, webhooks=webhooks),
            host=s.host,
            port=s.port,
            storage_port=s.storage_port,
            bentley_port=s.bentley_port,
            complete_jobs=s.complete_jobs,
            complete_v2_jobs=s.complete_v2_jobs,
            complete_every=s.complete_every,
        )
    except OSError as exc:  # a port in use, an address not of this machine
        where = "--host, --port, --storage-port, --bentley-port"
        raise OSError(exc.errno, f"cannot listen ({where}): {exc.strerror or exc}") from None
    return 0


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``demo`` and ``emulator``."""
    demo = subparsers.add_parser(
        "demo",
        parents=[common],
        help="archive the embedded emulator's jobs into OUT and verify them",
        description="Start the embedded emulator on loopback, archive all of its Hover jobs"
        " and one Bentley Reality Modeling v2 job into OUT, verify every file against the"
        " emulator's checksums and print the summaries (with --json one line: the Hover"
        " summary, the v2 one under bentley_v2).",
    )
    demo.add_argument(
        "out",
        nargs="?",
        default=DEFAULT_DEMO_DIR,
        metavar="OUT",
        help=f"archive directory (default ./{DEFAULT_DEMO_DIR})",
    )
    demo.add_argument("--jobs", type=positive_int, default=20, help="generated jobs (default 20)")
    demo.add_argument(
        "--azurite",
        action="store_true",
        help="archive into a container of a local Azurite started for the demo (in memory;"
        " azurite-blob from PATH or HOVERBENTLEY_AZURITE); OUT is then the prefix",
    )
    add_archive_options(demo, dry_run=False)
    demo.set_defaults(handler=Handler(DemoCommand, cmd_demo))

    emulator = subparsers.add_parser(
        "emulator",
        parents=[common],
        help="run the offline Hover and Bentley emulator until Ctrl-C",
        description="Serve the offline emulator of the Hover v3 API, its file storage and the"
        " Bentley Reality Modeling v1 and v2, Reality Analysis v2 and Reality Management APIs"
        " on loopback, until Ctrl-C. Point the other commands at the printed URLs (--base-url,"
        " HOVER_BASE_URL, BENTLEY_BASE_URL, BENTLEY_V2_BASE_URL, ...) and pass"
        " --requests-per-minute 0: the emulator is not bound by the providers' limits.",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="address to listen on")
    emulator.add_argument("--port", type=port, default=8080, help="Hover API port (default 8080)")
    emulator.add_argument(
        "--storage-port", type=port, default=0, help="file storage port (default: any free port)"
    )
    emulator.add_argument(
        "--bentley-port", type=port, default=0, help="Bentley APIs port (default: any free port)"
    )
    emulator.add_argument("--jobs", type=positive_int, default=20, help="generated Hover jobs")
    rehearse = emulator.add_argument_group("faults, to rehearse failures")
    rehearse.add_argument(
        "--faults",
        type=fault_rates,
        metavar="NAME=SHARE,...",
        help="inject faults in this share of requests: 500, 503, 429 (half with Retry-After),"
        " reset (the connection dropped mid-body), truncate (a body cut short), slow, stall"
        " (a body that stops for a minute); e.g. --faults 503=0.1,reset=0.05",
    )
    rehearse.add_argument(
        "--latency",
        type=latency_range,
        metavar="S[-S]",
        help="seconds added to each answer of the faulty hosts: 0.05, or a range 0.01-0.2",
    )
    rehearse.add_argument(
        "--fault-targets",
        choices=("storage", "api", "all"),
        default="storage",
        help="which hosts misbehave: the file and blob storage (default), the APIs, or all",
    )
    rehearse.add_argument(
        "--fault-seed", type=int, default=7, help="seed of the fault draws (same seed, same run)"
    )
    events = emulator.add_argument_group(
        "webhooks: jobs that complete over time",
        "Events go to the verified Hover webhooks and the active Bentley ones registered with"
        " the emulator (on loopback only), signed, retried 5 times with doubling back-off on a"
        " non-2xx answer or a failed connection.",
    )
    events.add_argument(
        "--complete-jobs",
        type=count,
        default=0,
        metavar="N",
        help="add N Hover jobs, processing, that complete over time once a webhook is verified"
        " or active: model-state-changed per model, then job-state-changed (complete)",
    )
    events.add_argument(
        "--complete-v2-jobs",
        type=count,
        default=0,
        metavar="N",
        help="add N Reality Modeling v2 jobs that complete (Success) in turn with the Hover"
        " ones: realityModeling.jobCompleted.v2; Bentley webhooks may then call back over http",
    )
    events.add_argument(
        "--complete-every",
        type=seconds,
        default=5.0,
        metavar="SECONDS",
        help="seconds between two completions (default 5)",
    )
    events.add_argument(
        "--webhook-faults",
        type=delivery_fault_rates,
        metavar="NAME=SHARE,...",
        help="give this share of events a fault: duplicate (sent twice), reorder (after the"
        " next one), hold (until the next completion), bad-signature (first attempt signed"
        " with another secret); e.g. --webhook-faults duplicate=0.1,bad-signature=0.05",
    )
    events.add_argument(
        "--webhook-backoff",
        type=seconds,
        default=1.0,
        metavar="SECONDS",
        help="wait before the second attempt of a delivery, doubling after (default 1)",
    )
    emulator.set_defaults(handler=Handler(EmulatorCommand, cmd_emulator))
