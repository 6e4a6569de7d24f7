"""The bulk archive from blocking code: :func:`hoverbentley.archive` on a sync client's loop."""

from __future__ import annotations

import os
from typing import Any

from ..archive import ArchiveOptions, ArchiveSummary, Destination
from ..archive import archive as archive_async
from ..archive.bentley_source import BentleySource
from ..archive.hover_source import HoverSource
from ..archive.shard import Shard, ShardBy
from ..errors import ConfigurationError
from .base import SyncClient, driver_of


def archive(
    source: HoverSource | BentleySource,
    out: str | os.PathLike[str] | Destination,
    options: ArchiveOptions | None = None,
    *,
    shard: Shard | None = None,
    shard_by: ShardBy = "job",
) -> ArchiveSummary:
    """Archive every job ``source`` lists into ``out`` (see :func:`hoverbentley.archive`).

    Build ``source`` over an open sync client's :attr:`~SyncClient.aio`:
    ``HoverSource(hover.aio, job_ids=[...])``; the run happens on that client's loop. A
    ``BentleySource`` with ``reality=`` needs both clients on one loop
    (:meth:`~SyncClient.same_loop`).
    """
    driver = _driver(source)
    return driver.run(archive_async, source, out, options, shard=shard, shard_by=shard_by)


def _driver(source: HoverSource | BentleySource) -> SyncClient[Any]:
    driver = driver_of(source.client)
    if driver is None:
        raise ConfigurationError(
            "the source's client is not driven by an open sync client: build the source"
            " over sync_client.aio (HoverSource(hover.aio, ...))"
        )
    reality = source.reality if isinstance(source, BentleySource) else None
    if reality is not None:
        other = driver_of(reality)
        if other is None or not driver.shares_loop(other):
            raise ConfigurationError(
                "the source's Reality Management client must run on the modeling client's loop:"
                " open it with rm.same_loop(SyncRealityManagementClient, auth=rm.auth) and"
                " give reality=reality.aio"
            )
    return driver
