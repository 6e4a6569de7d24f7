"""``hoverbentley demo`` and ``hoverbentley emulator``: the embedded emulator at work."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import anyio

from ..archive import ArchiveSummary
from ..archive.hover_source import HoverSource
from ..config import HttpConfig
from ..hover.client import HoverClient
from .azurite import local_azurite
from .common import check_out, positive_int
from .options import add_archive_options
from .report import report_summary, run_archive

DEFAULT_DEMO_DIR = "hoverbentley-demo"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


async def cmd_demo(args: argparse.Namespace) -> int:
    if args.azurite:
        with local_azurite() as container:
            prefix = args.out if args.out != DEFAULT_DEMO_DIR else "archive"
            args.out = f"{container}/{prefix.strip('/')}"
            return await _demo(args)
    return await _demo(args)


async def _demo(args: argparse.Namespace) -> int:
    from ..emulator import Emulator, EmulatorConfig

    out = check_out(args.out)
    config = EmulatorConfig(jobs=args.jobs)
    async with Emulator(config) as emu:
        user = sorted(config.user_emails)[0]
        if not args.json:
            print(f"emulator: Hover API at {emu.hover_url}, file storage at {emu.storage_url}")
        async with HoverClient(
            token=config.token,
            current_user_email=user,
            base_url=emu.hover_url,
            # The emulator is local: no need to stay under Hover's 120 requests a minute.
            http=HttpConfig(requests_per_minute=None),
        ) as client:
            summary = await run_archive(args, HoverSource(client, archived=True), out)
        if isinstance(out, Path):
            mismatched = await anyio.to_thread.run_sync(_verify, emu, out, summary)
        else:
            mismatched = await _verify_store(emu, out)
    status = report_summary(args, summary)
    if not args.json:
        if mismatched:
            print(f"checksum mismatch against the emulator: {', '.join(mismatched[:5])}")
        else:
            print("every archived file matches the emulator's sha256")
        if args.azurite:
            print(f"archived into {out}/ of a local Azurite, in memory: gone with the demo")
        else:
            print(
                f"look in {out}/: index.csv lists the jobs, manifest.jsonl every file with its"
                f" sha256, hover/<job id>/ holds job.json and each model's files"
            )
    return 1 if mismatched else status


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
        if entry.status != "ok" or entry.kind == "job":
            continue
        path = out / entry.path
        if entry.url not in expected or not path.exists() or _sha256(path) != expected[entry.url]:
            bad.append(entry.path)
    return bad


def cmd_emulator(args: argparse.Namespace) -> int:
    """Serve in the foreground (not under the CLI's event loop), so Ctrl-C stops it at once."""
    from ..emulator import EmulatorConfig, serve

    serve(
        EmulatorConfig(jobs=args.jobs),
        host=args.host,
        port=args.port,
        storage_port=args.storage_port,
        bentley_port=args.bentley_port,
    )
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
        description="Start the embedded Hover emulator on loopback, archive all of its jobs"
        " into OUT, verify every file against the emulator's checksums and print the summary.",
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
    demo.set_defaults(handler=cmd_demo)

    emulator = subparsers.add_parser(
        "emulator",
        parents=[common],
        help="run the offline Hover and Bentley emulator until Ctrl-C",
        description="Serve the offline emulator of the Hover v3 API, its file storage and the"
        " Bentley Reality Modeling and Reality Management APIs on loopback, until Ctrl-C."
        " Point the other commands at the printed URLs (--base-url, HOVER_BASE_URL, ...) and"
        " pass --requests-per-minute 0: the emulator is not bound by the providers' limits.",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="address to listen on")
    emulator.add_argument("--port", type=int, default=8080, help="Hover API port (default 8080)")
    emulator.add_argument(
        "--storage-port", type=int, default=0, help="file storage port (default: any free port)"
    )
    emulator.add_argument(
        "--bentley-port", type=int, default=0, help="Bentley APIs port (default: any free port)"
    )
    emulator.add_argument("--jobs", type=positive_int, default=20, help="generated Hover jobs")
    emulator.set_defaults(handler=cmd_emulator)
