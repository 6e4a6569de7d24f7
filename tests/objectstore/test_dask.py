"""Scaling out from Python: the shards mapped over a Dask cluster of worker processes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from hoverbentley import HoverClient
from hoverbentley.archive import archive
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.archive.object_store import ObjectStoreDestination
from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import SMALL_SIZES, file_requests
from tests.support import FAST, user_email

from .conftest import Store
from .helpers import manifest_lines, mirror, objects

distributed = pytest.importorskip("distributed")

SHARDS = 4


def archive_shard(
    out: str, shard: tuple[int, int] | None, base_url: str, token: str, email: str
) -> dict[str, Any]:
    """One shard's archive, run where Dask puts it: its summary and the process it ran in."""

    async def run() -> Any:
        async with HoverClient(
            token=token, current_user_email=email, base_url=base_url, http=FAST
        ) as hover:
            return await archive(HoverSource(hover, archived=True), out, shard=shard)

    summary = anyio.run(run)
    return {"pid": os.getpid(), "ok": summary.ok, **msgspec.to_builtins(summary)}


@pytest.mark.slow
def test_shards_mapped_over_a_local_cluster_make_the_single_machine_archive(
    s3: Store, tmp_path: Path
) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=10, sizes=SMALL_SIZES)) as emu:
        who = (emu.hover_url, emu.config.token, user_email(emu))
        local = tmp_path / "local"
        single = archive_shard(str(local), None, *who)
        mark = len(emu.requests)

        with (
            distributed.LocalCluster(
                # ":0": a dashboard port from the OS (None still binds the default 8787,
                # which fails the test wherever another Dask or Jupyter holds that port).
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
            ) as cluster,
            distributed.Client(cluster) as dask,
        ):
            futures = dask.map(
                archive_shard,
                [s3.url()] * SHARDS,
                [(k, SHARDS) for k in range(SHARDS)],
                *[[value] * SHARDS for value in who],
                pure=False,
            )
            results = dask.gather(futures)

        assert all(r["ok"] for r in results)
        assert os.getpid() not in {r["pid"] for r in results}  # worker processes did the work
        assert sum(r["jobs"] for r in results) == single["jobs"]
        assert sum(r["downloaded"] for r in results) == single["downloaded"]
        fetched = [(r.path, r.query_string) for r in file_requests(emu, mark)]
        assert len(fetched) == len(set(fetched)) == single["downloaded"]

    report = anyio.run(ObjectStoreDestination(s3.url()).merge_parts)
    assert len(report.parts) == SHARDS
    copy = mirror(s3, tmp_path / "copy")
    assert manifest_lines(copy) == manifest_lines(local)
    assert (copy / "index.csv").read_bytes() == (local / "index.csv").read_bytes()
    stored = objects(s3)
    for path, entry in manifest_lines(local).items():
        assert len(stored[path]) == entry["size"]
