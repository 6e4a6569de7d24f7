"""Writes that fail leave nothing half-written: the atomic-write helper, then the archive."""

from __future__ import annotations

import errno
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoverbentley._io.atomic import atomic_writer, fsync_directory, temp_path, write_atomic
from tests.services import REQUIRE

KiB = 1024


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (needs root: CI runs as root)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        message = f"cannot mount a small tmpfs here: {result.stderr.strip()}"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


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
    assert temp_path(target, concurrent_writers=True).name == f".tokens.json.{os.getpid()}.tmp"
    assert _leftovers(tmp_path) == []


def test_fsync_directory_syncs_a_directory_and_reports_a_missing_one(tmp_path: Path) -> None:
    fsync_directory(tmp_path)
    with pytest.raises(FileNotFoundError):
        fsync_directory(tmp_path / "absent")
