"""A small webhook receiver on a port from the OS: it keeps every delivery and answers as told."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

#: The bound of every wait (no test depends on how fast things go, only that they end).
WAIT = 30.0


@dataclass(frozen=True)
class Received:
    """One delivery as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Deliveries by arrival; ``answers`` are the statuses of the next ones (then 200), or
    ``check`` decides (a status from the delivery)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: deque[int] = deque()
        self.check: Callable[[Received], int] | None = None
        self.url = ""
        self._changed = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.Response:
        item = Received(request.path_qs, dict(request.headers), await request.read())
        self.received.append(item)
        if self.answers:
            status = self.answers.popleft()
        else:
            status = self.check(item) if self.check is not None else 200
        async with self._changed:
            self._changed.notify_all()
        return web.Response(status=status)

    async def wait_for(self, count: int, path: str = "") -> list[Received]:
        """The deliveries to ``path`` once there are at least ``count`` (within :data:`WAIT`)."""

        def mine() -> list[Received]:
            return [r for r in self.received if r.path.startswith(path)]

        await self.until(lambda: len(mine()) >= count)
        return mine()

    async def until(self, done: Callable[[], bool]) -> None:
        """Return once ``done()`` is true after a delivery (within :data:`WAIT`)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(done), WAIT)


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """A receiver listening on 127.0.0.1 (any path) until the block ends."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
