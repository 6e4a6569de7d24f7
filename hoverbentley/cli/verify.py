"""``hoverbentley verify OUT``: hash every archived file again and compare with the manifest."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import msgspec

from ..archive import Manifest, ManifestEntry
from ..archive.index import INDEX_NAME
from ..archive.manifest import MANIFEST_NAME
from ..archive.marks import MARK_DIR
from ..archive.merge import INDEX_PARTS, MANIFEST_PARTS
from ..archive.stores import is_local
from ..errors import ConfigurationError
from .common import positive_int
from .options import verbosity
from .progress import human_bytes, terminal_width
from .report import print_result

#: Files of the archive itself, not of any job.
_OWN = frozenset({MANIFEST_NAME, INDEX_NAME})
#: The manifest and index parts of sharded runs (merged by ``manifest merge``).
_PARTS = (MANIFEST_PARTS, INDEX_PARTS)
#: What an interrupted run leaves to resume from.
_PARTIAL = (".part", ".part.json", ".tmp")


class Changed(msgspec.Struct, kw_only=True):
    """A file whose bytes are not those the manifest recorded."""

    path: str
    expected_sha256: str | None
    actual_sha256: str
    expected_size: int | None
    actual_size: int


class VerifyReport(msgspec.Struct, kw_only=True):
    """What ``verify`` found. ``ok`` is true when every recorded file is whole and nothing
    else is there."""

    out: str
    files: int
    bytes: int
    verified: int
    missing: list[str]
    changed: list[Changed]
    extra: list[str]
    failed: list[str]
    partial: list[str]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.changed or self.extra or self.failed)


def _digest(path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(1024 * 1024):
            sha.update(block)
            size += len(block)
    return sha.hexdigest(), size


def _on_disk(root: Path) -> Iterator[str]:
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        base = Path(folder).relative_to(root)
        for name in sorted(names):
            yield (base / name).as_posix()


def _check(root: Path, entry: ManifestEntry) -> tuple[str, Changed | None, int]:
    """``("ok" | "missing" | "changed", details, bytes read)`` for one recorded file."""
    path = root.joinpath(*entry.path.split("/"))
    try:
        actual, size = _digest(path)
    except FileNotFoundError:
        return "missing", None, 0
    except IsADirectoryError:
        return "missing", None, 0
    sha_ok = entry.sha256 is None or entry.sha256 == actual
    size_ok = entry.size is None or entry.size == size
    if sha_ok and size_ok:
        return "ok", None, size
    changed = Changed(
        path=entry.path,
        expected_sha256=entry.sha256,
        actual_sha256=actual,
        expected_size=entry.size,
        actual_size=size,
    )
    return "changed", changed, size


class _Counter:
    """``verify: 12/340 files, 1.2 GB`` redrawn on a terminal; silent elsewhere."""

    def __init__(self, total: int, show: bool) -> None:
        self.total = total
        self.done = 0
        self.bytes = 0
        self.show = show and sys.stderr.isatty()

    def add(self, size: int) -> None:
        self.done += 1
        self.bytes += size
        if self.show:
            width = terminal_width(sys.stderr)
            line = f"verify: {self.done}/{self.total} files, {human_bytes(self.bytes)}"
            sys.stderr.write("\r" + line[: max(width - 1, 0)] + "\x1b[K")
            sys.stderr.flush()

    def close(self) -> None:
        if self.show:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def verify(root: Path, *, workers: int = 4, show_progress: bool = False) -> VerifyReport:
    """Hash every file the manifest of ``root`` records as complete (its newest line per path)
    and list missing, changed and extra files."""
    if not root.is_dir():
        raise ConfigurationError(f"OUT is not a directory: {root}")
    manifest = Manifest(root)
    if not manifest.path.is_file():
        raise ConfigurationError(f"no {MANIFEST_NAME} in {root}: not an archive directory")
    manifest.load()
    recorded = [e for e in manifest.entries.values() if e.status == "ok"]
    failed = sorted(p for p, e in manifest.entries.items() if e.status != "ok")
    missing: list[str] = []
    changed: list[Changed] = []
    counter = _Counter(len(recorded), show_progress)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results: Iterable[tuple[str, Changed | None, int]] = pool.map(
                lambda e: _check(root, e), recorded
            )
            for entry, (state, detail, size) in zip(recorded, results, strict=True):
                counter.add(size)
                if state == "missing":
                    missing.append(entry.path)
                elif detail is not None:
                    changed.append(detail)
    finally:
        counter.close()
    known = set(manifest.entries)
    extra: list[str] = []
    partial: list[str] = []
    for path in _on_disk(root):
        if path in known or path in _OWN or path.startswith((f"{MARK_DIR}/", *_PARTS)):
            continue
        (partial if path.endswith(_PARTIAL) else extra).append(path)
    return VerifyReport(
        out=str(root),
        files=len(recorded),
        bytes=counter.bytes,
        verified=len(recorded) - len(missing) - len(changed),
        missing=sorted(missing),
        changed=sorted(changed, key=lambda c: c.path),
        extra=extra,
        failed=failed,
        partial=partial,
    )


def report_text(r: VerifyReport) -> str:
    """The human report: one line per problem, then the counts."""
    lines = [f"missing: {p}" for p in r.missing]
    for c in r.changed:
        lines.append(
            f"changed: {c.path} (sha256 {c.actual_sha256[:12]}..., {c.actual_size} bytes;"
            f" recorded {(c.expected_sha256 or '?')[:12]}..., {c.expected_size} bytes)"
        )
    lines += [f"extra: {p}" for p in r.extra]
    lines += [f"failed in the last run: {p}" for p in r.failed]
    lines.append(
        f"{r.verified} of {r.files} files verified ({human_bytes(r.bytes)}): {len(r.missing)}"
        f" missing, {len(r.changed)} changed, {len(r.extra)} extra, {len(r.failed)} failed"
    )
    if r.partial:
        lines.append(
            f"{len(r.partial)} partial downloads of an interrupted run: run the archive"
            " command again to finish them"
        )
    return "\n".join(lines)


def cmd_verify(args: argparse.Namespace) -> int:
    _, quiet = verbosity(args)
    if not is_local(args.out):
        from .verify_store import verify_store

        report = anyio.run(lambda: verify_store(args.out, workers=args.concurrency))
    else:
        report = verify(
            Path(args.out), workers=args.concurrency, show_progress=not (quiet or args.json)
        )
    print_result(report, report_text, as_json=args.json)
    return 0 if report.ok else 1


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``verify``."""
    parser = subparsers.add_parser(
        "verify",
        parents=[common],
        help="hash every archived file again and compare with the manifest",
        description="Read OUT/manifest.jsonl (the newest line per file), hash every file it"
        " records as complete, and report files missing, changed (other sha256 or size) and"
        " extra (on disk, not in the manifest). Nothing is written. Exit status: 0 when"
        " clean, 1 when anything is missing, changed, extra or failed in the last run, 2 for"
        " usage errors.",
    )
    parser.add_argument(
        "out", metavar="OUT", help="archive directory, or s3://BUCKET/PREFIX, az://CONTAINER/PREFIX"
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=4,
        metavar="N",
        help="files hashed at once (default 4)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=cmd_verify)
