"""One archive suite over every destination: a local directory, S3 (moto) and Azure (Azurite).

The same command-line runs and the same assertions on each: the archive is complete and
byte-identical to the emulator's files; a run killed while an upload is open is resumed by a
rerun that leaves no upload open (listed through each store's own API); ``--since last``
lists from the mark; ``verify`` names a changed and a missing file. Google Cloud Storage is
refused (see test_store_seam.py): its uploads cannot be tested against a local server.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from tests.archive.helpers import SMALL_SIZES, MiB, assert_complete, big_pdfs, hold_big_files
from tests.archive.test_cli_archive import env_for, summary_of
from tests.cli.test_since_last import listed_since
from tests.support import HB

from .conftest import Store, uploads_in_progress
from .helpers import mirror, open_store

#: Two files of three 8 MiB parts each: caught mid-upload when the run is killed.
BIG = 20 * MiB
FAST = ["--requests-per-minute", "0", "--retry-for", "60"]


@dataclass
class Destination:
    """Where an archive goes, and how to look at it without the package."""

    kind: str
    out: str
    env: dict[str, str]
    root: Path | None = None  # a local directory
    store: Store | None = None  # a bucket or container

    def copy(self, into: Path) -> Path:
        """The archive as a local directory (itself, or a copy of the store's objects)."""
        if self.root is not None:
            return self.root
        assert self.store is not None
        return mirror(self.store, into)

    def uploads_open(self) -> int:
        """Uploads begun and not finished: ``.part`` files, open multipart uploads, blobs with
        uncommitted blocks only."""
        if self.root is not None:
            return len(list(self.root.rglob("*.part")))
        assert self.store is not None
        return uploads_in_progress(self.store)

    def has_stored(self) -> bool:
        if self.root is not None:
            return (self.root / "hover").exists() and any(
                p.is_file() and not p.name.endswith((".part", ".json"))
                for p in self.root.rglob("*")
            )
        assert self.store is not None
        import obstore

        handle = open_store(self.store)
        keys = [m["path"] for batch in obstore.list(handle, "hover") for m in batch]
        return any(not k.endswith("job.json") for k in keys)

    def replace(self, path: str, data: bytes) -> None:
        if self.root is not None:
            (self.root / path).write_bytes(data)
            return
        assert self.store is not None
        import obstore

        obstore.put(open_store(self.store), path, data)

    def delete(self, path: str) -> None:
        if self.root is not None:
            (self.root / path).unlink()
            return
        assert self.store is not None
        import obstore

        obstore.delete(open_store(self.store), path)


@pytest.fixture(params=["local", "s3", "az"])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Destination]:
    if request.param == "local":
        root = tmp_path / "out"
        yield Destination("local", str(root), {}, root=root)
        return
    store: Store = request.getfixturevalue(request.param)
    yield Destination(request.param, store.url(), store.env, store=store)


def archive(dest: Destination, emu: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HB, "hover", "archive", dest.out, "--all", "--json", *FAST, *args],
        env=env_for(emu, **dest.env),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_complete_and_byte_identical_then_a_rerun_fetches_nothing(
    destination: Destination, tmp_path: Path
) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=3, sizes=SMALL_SIZES)) as emu:
        first = archive(destination, emu)
        assert first.returncode == 0, first.stderr
        summary = summary_of(first)
        assert summary["failed"] == 0 and summary["downloaded"] == summary["files"] > 0
        assert_complete(destination.copy(tmp_path / "copy"), emu, emu.job_ids())
        mark = len(emu.requests)
        again = archive(destination, emu)
        assert again.returncode == 0, again.stderr
        assert summary_of(again)["downloaded"] == 0
        assert not [r for r in emu.requests[mark:] if "/files/" in r.path]


def test_a_run_killed_mid_upload_is_finished_by_a_rerun_that_leaves_nothing_open(
    destination: Destination, tmp_path: Path
) -> None:
    config = EmulatorConfig(
        jobs=3,
        sizes=SMALL_SIZES,
        size_overrides=big_pdfs(2, BIG),
        faults=FaultConfig(stall_seconds=600),
    )
    with Emulator.threaded(config) as emu:
        # Both big files stop half-way until the run is killed: it is certain to have an
        # upload open then, however fast or slow the machine.
        hold_big_files(emu, 2)
        proc = subprocess.Popen(
            [
                *HB,
                "hover",
                "archive",
                destination.out,
                "--all",
                "--json",
                *FAST,
                "--concurrency",
                "4",
                "--retries",
                "0",
                "--stall-timeout",
                "600",
            ],
            env=env_for(emu, **destination.env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 90
        while not (destination.has_stored() and destination.uploads_open()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never got mid-upload"
            time.sleep(0.05)
        proc.kill()
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        assert destination.uploads_open() > 0  # killed with an upload open

        emu.faults.clear()
        rerun = archive(destination, emu)
        assert rerun.returncode == 0, rerun.stderr
        assert summary_of(rerun)["failed"] == 0
        assert destination.uploads_open() == 0
        assert_complete(destination.copy(tmp_path / "copy"), emu, emu.job_ids())


def test_since_last_lists_from_the_mark(destination: Destination) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=2, sizes=SMALL_SIZES)) as emu:
        first = archive(destination, emu, "--since", "last")
        assert first.returncode == 0, first.stderr
        assert "no complete run of this selection" in first.stderr
        before = len(listed_since(emu))
        second = archive(destination, emu, "--since", "last")
        assert second.returncode == 0, second.stderr
        since = listed_since(emu)[before:]
        assert since and all(s is not None for s in since)
        assert summary_of(second)["jobs"] == 0


def test_verify_names_a_changed_and_a_missing_file(
    destination: Destination, tmp_path: Path
) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=2, sizes=SMALL_SIZES)) as emu:
        done = archive(destination, emu)
        assert done.returncode == 0, done.stderr
    lines = [
        json.loads(x)
        for x in (destination.copy(tmp_path / "copy") / "manifest.jsonl").read_text().splitlines()
    ]
    changed, gone = sorted(e["path"] for e in lines if e["kind"] != "job")[:2]
    destination.replace(changed, b"not what was archived")
    destination.delete(gone)
    result = subprocess.run(
        [*HB, "verify", destination.out, "--json"],
        env=env_for(None, **destination.env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["missing"] == [gone]
    assert [c["path"] for c in report["changed"]] == [changed]
