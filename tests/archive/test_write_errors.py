"""Writes that fail leave nothing half-written: the atomic-write helper, then the archive."""

from __future__ import annotations

import csv
import errno
import os
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hoverbentley._io.atomic import atomic_writer, fsync_directory, temp_path, write_atomic
from hoverbentley.archive import ArchiveSummary, ArchiveWriteError
from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.support import HB, cli_env, small_tmpfs

from .helpers import (
    SMALL_SIZES,
    assert_complete,
    disk_files,
    partial_files,
    read_manifest,
    storage_requests,
)
from .test_archive import emulator, run

KiB = 1024
pytestmark = pytest.mark.anyio


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (needs root: CI runs as root)."""
    with small_tmpfs(tmp_path / "tiny", "64k") as mount_point:
        yield mount_point


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# -- the atomic-write helper -------------------------------------------------------------------


def test_write_atomic_creates_and_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "job.json"
    write_atomic(target, b"old")
    assert target.read_bytes() == b"old"
    write_atomic(target, b"new and longer")
    assert target.read_bytes() == b"new and longer"
    assert _leftovers(tmp_path) == []


def test_a_reader_sees_the_old_file_or_the_new_one_never_a_mix(tmp_path: Path) -> None:
    target = tmp_path / "index.csv"
    versions = [bytes([65 + i]) * (64 * KiB * (1 + i % 3)) for i in range(4)]
    write_atomic(target, versions[0])
    seen: list[bytes] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(target.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(200):
            write_atomic(target, versions[i % len(versions)])
    finally:
        stop.set()
        reader.join()
    assert seen
    torn = [len(s) for s in seen if s not in versions]
    assert not torn, torn[:5]


def test_a_failure_while_streaming_keeps_the_old_file_and_removes_the_temp(
    tmp_path: Path,
) -> None:
    target = tmp_path / "manifest.jsonl"
    target.write_bytes(b"line 1\n")

    def write_half() -> None:
        with atomic_writer(target) as fh:
            fh.write(b"half of the new ")
            assert temp_path(target).exists()
            raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        write_half()
    assert target.read_bytes() == b"line 1\n"
    assert _leftovers(tmp_path) == []


def test_a_failed_rename_keeps_the_target_and_removes_the_temp(tmp_path: Path) -> None:
    target = tmp_path / "manifest.jsonl"
    target.mkdir()
    (target / "inside").write_bytes(b"kept")
    with pytest.raises(IsADirectoryError):
        write_atomic(target, b"data")
    assert (target / "inside").read_bytes() == b"kept"
    assert _leftovers(tmp_path) == []


def test_a_full_disk_keeps_the_old_file_and_removes_the_temp(tiny_disk: Path) -> None:
    target = tiny_disk / "job.json"
    write_atomic(target, b"old record")
    with pytest.raises(OSError, match="space") as caught:
        write_atomic(target, b"x" * (256 * KiB))
    assert caught.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old record"
    assert _leftovers(tiny_disk) == []


def test_mode_is_applied_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "tokens.json"
    old = os.umask(0)
    try:
        write_atomic(target, b"{}", mode=0o600, concurrent_writers=True)
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o600
    assert _leftovers(tmp_path) == []


def test_concurrent_writers_in_threads_of_one_process_never_collide(tmp_path: Path) -> None:
    target = tmp_path / "tokens.json"
    payloads = [bytes([65 + n]) * 4096 for n in range(8)]

    def writes(payload: bytes) -> None:
        for _ in range(100):
            write_atomic(target, payload, mode=0o600, concurrent_writers=True)

    with ThreadPoolExecutor(len(payloads)) as pool:
        list(pool.map(writes, payloads))  # re-raises a writer's error
    assert target.read_bytes() in payloads
    assert _leftovers(tmp_path) == []


def test_fsync_directory_syncs_a_directory_and_reports_a_missing_one(tmp_path: Path) -> None:
    fsync_directory(tmp_path)
    with pytest.raises(FileNotFoundError):
        fsync_directory(tmp_path / "absent")


# -- the archive: every write failure is an ArchiveWriteError, and a rerun finishes ------------

JOBS = 2


def _assert_nothing_torn(out: Path, served: set[str], blocker: str = "") -> None:
    """Every file at a final path (but the test's ``blocker``) is whole: recorded complete
    with its sha256, or, where the full disk refused its manifest line after the rename, a
    file the emulator serves, byte for byte (``served``: their sha256)."""
    assert not [p for p in disk_files(out) if p.endswith(".tmp")]
    manifest = out / "manifest.jsonl"
    newest = {e["path"]: e for e in read_manifest(out, strict=False)} if manifest.is_file() else {}
    for path, digest in disk_files(out).items():
        if path.endswith((".part", ".part.json")) or path == blocker:
            continue
        if path in newest:
            assert newest[path]["status"] == "ok", path
            assert newest[path]["sha256"] == digest, path
        else:
            assert digest in served, path


async def _fails(emu: Emulator, out: Path, blocker: str = "") -> str:
    with pytest.raises(ArchiveWriteError) as caught:
        await run(emu, out)
    message = str(caught.value)
    assert "\n" not in message
    _assert_nothing_torn(out, {f.sha256 for f in emu.expected_files()}, blocker)
    return message


async def _rerun_completes(emu: Emulator, out: Path) -> ArchiveSummary:
    summary = await run(emu, out)
    assert summary.ok, summary.failures
    assert_complete(out, emu, emu.job_ids(), unique=False)
    with open(out / "index.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["job_id"] for r in rows] == [str(j) for j in emu.job_ids()]
    return summary


async def test_manifest_that_is_a_directory_stops_the_run_before_any_request(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    (out / "manifest.jsonl").mkdir(parents=True)
    async with emulator(jobs=JOBS) as emu:
        message = await _fails(emu, out)
        assert message == f"cannot write {out / 'manifest.jsonl'}: it is a directory"
        assert not emu.requests
        (out / "manifest.jsonl").rmdir()
        await _rerun_completes(emu, out)


async def test_index_that_is_a_directory_keeps_every_file_and_a_rerun_writes_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    (out / "index.csv").mkdir(parents=True)
    async with emulator(jobs=JOBS) as emu:
        message = await _fails(emu, out)
        assert message == f"cannot write {out / 'index.csv'}: it is a directory"
        assert_complete(out, emu, emu.job_ids())  # every file and record made it
        (out / "index.csv").rmdir()
        mark = len(emu.requests)
        again = await _rerun_completes(emu, out)
        assert again.downloaded == 0 and not storage_requests(emu, mark)


async def test_job_record_that_cannot_be_written_stops_the_run_and_a_rerun_finishes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    async with emulator(jobs=JOBS) as emu:
        blocked = out / "hover" / str(emu.job_ids()[1]) / "job.json"
        blocked.mkdir(parents=True)
        message = await _fails(emu, out)
        assert message == f"cannot write {blocked}: it is a directory"
        blocked.rmdir()
        await _rerun_completes(emu, out)


async def test_file_whose_directory_is_blocked_stops_the_run_and_a_rerun_finishes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    async with emulator(jobs=JOBS) as emu:
        models = out / "hover" / str(emu.job_ids()[0]) / "models"
        models.parent.mkdir(parents=True)
        models.write_bytes(b"in the way")
        message = await _fails(emu, out, models.relative_to(out).as_posix())
        assert message.startswith(f"cannot write {models}/")
        assert message.endswith(": a file is in the way (not a directory)")
        models.unlink()
        await _rerun_completes(emu, out)


@pytest.mark.parametrize("blocker", ["directory", "link"])
async def test_a_part_that_is_a_directory_or_a_link_is_named_and_never_written_through(
    tmp_path: Path, blocker: str
) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside.bin"
    async with emulator(jobs=JOBS) as emu:
        first = emu.expected_files(emu.job_ids()[0])[0]
        await run(emu, out, job_ids=[emu.job_ids()[0]])  # where its files go
        final = next(out / e["path"] for e in read_manifest(out) if e.get("url") == first.url)
        final.unlink()
        part = final.with_name(final.name + ".part")
        if blocker == "directory":
            part.mkdir()
        else:
            part.symlink_to(outside)
        message = await _fails(emu, out, part.relative_to(out).as_posix())
        cause = "it is a directory" if blocker == "directory" else "it is a symbolic link"
        assert message.startswith(f"cannot write {part}: {cause}"), message
        assert not outside.exists() and not final.exists()
        part.rmdir() if blocker == "directory" else part.unlink()
        await _rerun_completes(emu, out)
        assert not final.is_symlink()


@pytest.mark.parametrize("where", ["out", "parent"])
async def test_out_that_cannot_be_created_stops_the_run_before_any_request(
    tmp_path: Path, where: str
) -> None:
    blocker = tmp_path / "out" if where == "out" else tmp_path / "parent"
    out = tmp_path / "out" if where == "out" else tmp_path / "parent" / "out"
    blocker.write_bytes(b"a file")
    async with emulator(jobs=JOBS) as emu:
        message = await _fails(emu, out)
        if where == "out":
            assert message == f"cannot write {out}: it is a file, not a directory"
        else:
            assert message == f"cannot write {out}: a file is in the way (not a directory)"
        assert not emu.requests
        blocker.unlink()
        await _rerun_completes(emu, out)


async def test_full_disk_stops_the_run_with_nothing_torn_and_a_rerun_finishes(
    tmp_path: Path,
) -> None:
    with small_tmpfs(tmp_path / "disk", "256k") as disk:
        out = disk / "out"
        async with emulator(jobs=JOBS) as emu:
            assert sum(f.size for f in emu.expected_files()) > 2 * 256 * KiB
            message = await _fails(emu, out)
            assert message.startswith("no space left on the device while writing ")
            assert str(out) in message
            subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
            await _rerun_completes(emu, out)
            assert not partial_files(out)


def test_cli_reports_a_write_error_in_one_line_with_exit_1(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "manifest.jsonl").mkdir(parents=True)
    with Emulator.threaded(EmulatorConfig(jobs=JOBS, sizes=SMALL_SIZES)) as emu:
        env = cli_env(
            HOVER_TOKEN=emu.config.token,
            HOVER_CURRENT_USER_EMAIL=sorted(emu.config.user_emails)[0],
            HOVER_BASE_URL=emu.hover_url,
        )
        command = [*HB, "hover", "archive", str(out), "--all", "-q", "--requests-per-minute", "0"]
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(
        f"cannot write {out / 'manifest.jsonl'}: it is a directory"
    ), result.stderr


async def test_a_file_cut_by_a_full_disk_twice_is_resumed_whole(tmp_path: Path) -> None:
    """The write that fails keeps what reached the part and nothing more: a write past a short
    one left a run of zeros in the part, which the next run resumed and recorded as good."""
    big = "/api/v3/models/40000000/artifacts/measurements.pdf"
    config = {"jobs": 1, "include_seed_jobs": False, "size_overrides": {big: 30 * 1024 * KiB}}
    with small_tmpfs(tmp_path / "disk", "10m") as disk:
        out = disk / "out"
        async with emulator(**config) as emu:
            for size in ("10m", "12m"):
                _remount(disk, size)
                await _fails(emu, out)
            _remount(disk, "100m")
            summary = await run(emu, out, concurrency=1)
            assert summary.ok, summary.failures
            assert_complete(out, emu, emu.job_ids())


def _remount(disk: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(disk)], check=True)
