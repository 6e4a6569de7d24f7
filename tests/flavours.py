"""Each client in two flavours, so that one test body checks both: the async client itself,
and the sync client (``hoverbentley.sync``) seen through :class:`SyncView`, which calls each
of its blocking methods on a worker thread and turns its iterators back into async ones.

The emulator runs on the test's loop, the sync client on a loop of its own: every request
of the sync flavour goes through the portal, as in a script.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Any

from anyio import to_thread

from hoverbentley import sync
from hoverbentley.bentley import (
    RealityAnalysisClient,
    RealityManagementClient,
    RealityModelingClient,
    RealityModelingV2Client,
    WebhooksClient,
)
from hoverbentley.hover import HoverClient

FLAVOURS = ("async", "sync")

#: The sync class of each async client.
SYNC_OF: dict[type, type[sync.SyncClient[Any]]] = {
    HoverClient: sync.SyncHoverClient,
    RealityModelingClient: sync.SyncRealityModelingClient,
    RealityModelingV2Client: sync.SyncRealityModelingV2Client,
    RealityAnalysisClient: sync.SyncRealityAnalysisClient,
    RealityManagementClient: sync.SyncRealityManagementClient,
    WebhooksClient: sync.SyncWebhooksClient,
}

_END = object()


def flavoured(flavour: str, cls: type, **kwargs: Any) -> Any:
    """``cls(**kwargs)``, or its sync twin built with the same arguments behind a view."""
    if flavour == "async":
        return cls(**kwargs)
    return SyncView(SYNC_OF[cls](**kwargs))


class SyncView:
    """A sync client with the async client's face: ``await view.get_job(1)`` runs
    ``client.get_job(1)`` on a worker thread; ``async for`` walks its plain iterator."""

    def __init__(self, client: sync.SyncClient[Any]) -> None:
        self.client = client

    async def __aenter__(self) -> SyncView:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await to_thread.run_sync(self.client.close)

    def __getattr__(self, name: str) -> Any:
        async_method = getattr(type(self.client.aio), name, None)
        if not hasattr(type(self.client), name):
            # Not part of the sync surface (transport, config): the async client's.
            return getattr(self.client.aio, name)
        method = getattr(self.client, name)
        if inspect.isasyncgenfunction(async_method):
            return partial(_iterate, method)
        if inspect.iscoroutinefunction(async_method):
            return partial(_call, method)
        return method

    async def aclose(self) -> None:
        await to_thread.run_sync(self.client.close)


async def _call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await to_thread.run_sync(partial(method, *args, **kwargs))


async def _iterate(
    method: Callable[..., Iterator[Any]], *args: Any, **kwargs: Any
) -> AsyncIterator[Any]:
    items = await to_thread.run_sync(partial(method, *args, **kwargs))
    try:
        while True:
            item = await to_thread.run_sync(next, items, _END)
            if item is _END:
                return
            yield item
    finally:
        await to_thread.run_sync(items.close)
