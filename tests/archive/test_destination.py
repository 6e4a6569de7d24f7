"""The destination seam: the pipeline writes only through a Destination it is given."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from hoverbentley.archive import ArchiveOptions, ArchiveSummary, archive
from hoverbentley.archive.destination import Destination, Fetch
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.archive.local import LocalDirectory
from hoverbentley.archive.manifest import ManifestEntry
from hoverbentley.archive.plan import PlannedFile
from hoverbentley.download import DownloadResult, PartFile
from hoverbentley.emulator import Emulator

from .helpers import assert_complete, storage_requests
from .test_archive import client, emulator

pytestmark = pytest.mark.anyio


class MemoryStore:
    """A destination that keeps objects in a dict, as an object store keeps keys.

    Files reach it through a scratch directory that is emptied after each file, so nothing
    of the archive is left on disk.
    """

    location = "memory://archive"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.lines: list[ManifestEntry] = []
        self.index: list[dict[str, str]] = []
        self.opened = self.closed = 0
        self.scratch = Path(tempfile.mkdtemp(prefix="memory-store-"))

    async def open(self) -> None:
        self.opened += 1

    async def load(self) -> None:
        """Nothing to read: the store starts empty."""

    def entry(self, path: str) -> ManifestEntry | None:
        current = {e.path: e for e in self.lines}
        return current.get(path)

    async def is_complete(self, file: PlannedFile) -> bool:
        entry = self.entry(file.path)
        data = self.objects.get(file.path)
        return (
            entry is not None
            and entry.status == "ok"
            and data is not None
            and hashlib.sha256(data).hexdigest() == entry.sha256
        )

    async def receive(self, file: PlannedFile, fetch: Fetch) -> DownloadResult:
        target = self.scratch / hashlib.sha256(file.path.encode()).hexdigest()
        async with PartFile(target, file.url, md5=file.md5 is not None) as part:
            result = await fetch(file, part)
        self.objects[file.path] = target.read_bytes()
        target.unlink()
        return result

    async def write_record(self, path: str, data: bytes) -> None:
        self.objects[path] = data

    async def record(self, entry: ManifestEntry) -> None:
        self.lines.append(entry)

    def add_index_row(self, row: Mapping[str, str]) -> None:
        self.index.append(dict(row))

    async def close(self) -> None:
        self.closed += 1


def _as_destination(store: MemoryStore) -> Destination:
    return store  # mypy checks here that MemoryStore implements the protocol


async def archive_into(emu: Emulator, out: str | os.PathLike[str] | Destination) -> ArchiveSummary:
    async with client(emu) as hover:
        return await archive(HoverSource(hover, archived=True), out, ArchiveOptions())


async def test_a_destination_of_another_kind_receives_every_file_and_resumes(
    tmp_path: Path,
) -> None:
    store = MemoryStore()
    async with emulator(jobs=3) as emu:
        summary = await archive_into(emu, _as_destination(store))
        expected = emu.expected_files()
        assert summary.ok and summary.downloaded == len(expected)
        assert summary.out == "memory://archive"
        assert (store.opened, store.closed) == (1, 1)

        by_path = {e.path: e for e in store.lines}
        files = {p: e for p, e in by_path.items() if e.kind != "job"}
        got = sorted(
            (e.url, hashlib.sha256(store.objects[p]).hexdigest()) for p, e in files.items()
        )
        assert got == sorted((f.url, f.sha256) for f in expected)
        records = sorted(p for p, e in by_path.items() if e.kind == "job")
        assert records == sorted(f"hover/{j}/job.json" for j in emu.job_ids())
        assert sorted(r["job_id"] for r in store.index) == [str(j) for j in emu.job_ids()]
        assert not list(store.scratch.iterdir())
        assert not list(tmp_path.iterdir())  # nothing written where the test runs

        # The rerun asks the destination what is complete, and fetches nothing.
        mark = len(emu.requests)
        again = await archive_into(emu, store)
        assert again.ok and again.downloaded == 0 and again.skipped == len(expected)
        assert not storage_requests(emu, mark)
    store.scratch.rmdir()


async def test_a_path_and_a_local_directory_give_the_same_archive(tmp_path: Path) -> None:
    async with emulator(jobs=3) as emu:
        by_path = await archive_into(emu, tmp_path / "a")
        by_object = await archive_into(emu, LocalDirectory(tmp_path / "b"))
        assert by_path.ok and by_object.ok
        assert by_object.out == str(tmp_path / "b")
        first = assert_complete(tmp_path / "a", emu, emu.job_ids())
        second = assert_complete(tmp_path / "b", emu, emu.job_ids())
        assert {p: e["sha256"] for p, e in first.items()} == {
            p: e["sha256"] for p, e in second.items()
        }
        assert (tmp_path / "a" / "index.csv").read_bytes() == (
            tmp_path / "b" / "index.csv"
        ).read_bytes()
