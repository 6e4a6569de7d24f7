"""Small downloads committed together: renamed only once synced, returned only once the
rename is synced, and a failed sync fails every download it covered, leaving no file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from hoverbentley._http.download import download_file
from hoverbentley._http.transport import Transport
from hoverbentley._io import commit
from tests.support import serve
from tests.transport.test_download_paths import DATA, SHA, FileServer
from tests.transport.test_transfer import _transport

pytestmark = pytest.mark.anyio
FILES = 12


async def _download_all(tmp_path: Path) -> list[tuple[str, Path]]:
    """Download ``FILES`` files at once into ``tmp_path/a/`` and ``tmp_path/b/``; the log of
    each one's return."""
    done: list[tuple[str, Path]] = []

    async def one(t: Transport, base: str, dest: Path) -> None:
        result = await download_file(t, f"{base}/{dest.name}", dest)
        assert result.sha256 == SHA
        done.append(("done", dest))

    async with (
        serve(FileServer().app()) as base,
        _transport(base, 0) as t,
        anyio.create_task_group() as group,
    ):
        for n in range(FILES):
            group.start_soon(one, t, base, tmp_path / "ab"[n % 2] / f"f{n}")
    return done


@pytest.mark.parametrize("where", ["on the loop", "in a thread"])
async def test_each_file_is_synced_before_its_rename_and_its_rename_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    log: list[tuple[str, Path | None]] = []
    real_syncfs = commit._load_syncfs()
    assert real_syncfs is not None

    def syncfs(fd: int) -> int:
        log.append(("sync", None))
        return real_syncfs(fd)

    real_replace = os.replace

    def replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        log.append(("rename", Path(target)))
        real_replace(source, target)

    monkeypatch.setattr(commit, "_syncfs", [syncfs])
    monkeypatch.setattr(commit, "ON_LOOP_BELOW", 60.0 if where == "on the loop" else 0.0)
    monkeypatch.setattr(os, "replace", replace)
    done = await _download_all(tmp_path)
    log += done
    files = [p for _, p in done]
    assert len(files) == FILES
    for path in files:
        assert path.read_bytes() == DATA
        renamed = log.index(("rename", path))
        returned = log.index(("done", path))
        syncs = [i for i, (what, _) in enumerate(log) if what == "sync"]
        assert any(i < renamed for i in syncs), "renamed before any sync"
        assert any(renamed < i < returned for i in syncs), "returned before its rename synced"
    assert not list(tmp_path.rglob("*.part*"))


async def test_without_syncfs_each_file_is_fsynced_and_renamed_in_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commit, "_syncfs", [None])
    done = await _download_all(tmp_path)
    assert sorted(p.read_bytes() == DATA for _, p in done) == [True] * FILES
    assert not list(tmp_path.rglob("*.part*"))


@pytest.mark.parametrize("failing", [lambda fd: -1, lambda fd: 1 // 0])
async def test_a_failed_sync_fails_the_download_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: Callable[[int], int]
) -> None:
    monkeypatch.setattr(commit, "_syncfs", [failing])
    async with serve(FileServer().app()) as base, _transport(base, 0) as t:
        with pytest.raises(OSError, match="syncfs failed"):
            await download_file(t, f"{base}/f", tmp_path / "f")
    assert list(tmp_path.iterdir()) == []
