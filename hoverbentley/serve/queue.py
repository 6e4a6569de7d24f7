"""The bounded queue of jobs to archive: one archive per job at a time.

A job is *waiting* (queued), *running* (being archived) or, when an event for it arrived while
it ran, *running again*: it is queued once more when its run ends, however many events came
meanwhile. The depth, what the bound limits, counts the waiting jobs and the jobs to run again.

The bound is checked before an event is journaled (:meth:`JobQueue.admits`): an event that
would go over it is refused (503 with ``Retry-After``) and not journaled, so the provider's
retry brings it back once there is room. An event for a job already waiting, or already due to
run again, takes no room and is always admitted.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import anyio

K = TypeVar("K", bound=Hashable)


class JobQueue(Generic[K]):
    """Jobs waiting to be archived, at most ``bound`` of them (see the module)."""

    def __init__(self, bound: int, *, on_depth: Callable[[int], None] | None = None) -> None:
        if bound < 1:
            raise ValueError("the queue bound must be at least 1")
        self.bound = bound
        self._waiting: dict[K, None] = {}
        self._running: set[K] = set()
        self._again: set[K] = set()
        self._changed: anyio.Event | None = None  # made by the first wait, in a loop
        self._on_depth = on_depth

    @property
    def depth(self) -> int:
        """Jobs waiting, and jobs to run again after their current run."""
        return len(self._waiting) + len(self._again)

    def running(self) -> frozenset[K]:
        """The jobs being archived now."""
        return frozenset(self._running)

    def admits(self, key: K) -> bool:
        """Whether :meth:`put` of ``key`` would keep the depth within the bound."""
        if key in self._waiting or key in self._again:
            return True
        return self.depth < self.bound

    def put(self, key: K, *, force: bool = False) -> None:
        """Queue ``key``: waiting, or to run again if it is running now; nothing if it is
        already either. ``force`` (a replay of the journal) ignores the bound."""
        if key in self._waiting or key in self._again:
            return
        if not force and self.depth >= self.bound:
            raise OverflowError(f"the queue holds {self.depth} jobs, its bound")
        if key in self._running:
            self._again.add(key)
        else:
            self._waiting[key] = None
        self._notify()

    async def take(self, limit: int) -> list[K]:
        """Up to ``limit`` waiting jobs, oldest first, now running; waits for one."""
        while not self._waiting:
            if self._changed is None:
                self._changed = anyio.Event()
            await self._changed.wait()
        taken = list(self._waiting)[:limit]
        for key in taken:
            del self._waiting[key]
            self._running.add(key)
        self._notify()
        return taken

    def done(self, key: K) -> None:
        """The run of ``key`` ended: it waits again if an event came for it meanwhile."""
        self._running.discard(key)
        if key in self._again:
            self._again.discard(key)
            self._waiting[key] = None
        self._notify()

    def _notify(self) -> None:
        if self._on_depth is not None:
            self._on_depth(self.depth)
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()
