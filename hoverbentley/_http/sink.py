"""A download into a :class:`Sink` (an object-store upload) instead of a file.

:class:`SinkWriter` makes a sink a :class:`~.transfer.Writer`: the body is hashed on the event
loop on its way into the sink. The sink is never finished here: the caller completes it (or
abandons it) once :func:`~.transfer.transfer` returned (or raised).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from .digest import Digest


class Sink(Protocol):
    """Where a streamed body goes: bytes appended in order, or dropped to start again."""

    #: The object's name, as the result's ``path`` reports it.
    name: str

    @property
    def size(self) -> int:
        """How many bytes the sink holds (a resume continues from here)."""
        ...

    async def write(self, data: bytes | memoryview) -> None:
        """Append ``data``."""
        ...

    async def restart(self) -> None:
        """Drop everything written so far; the next write is byte 0 again."""
        ...


class SinkWriter:
    """A :class:`~.transfer.Writer` into ``sink``; ``md5``: the digest takes the MD5 too.

    The sink keeps no version: bytes it holds when a transfer starts are dropped, while a
    transfer called again with the same writer (after a re-signed URL) continues them.
    """

    def __init__(self, sink: Sink, *, md5: bool = False) -> None:
        self.sink = sink
        self.path = Path(sink.name)
        self.etag: str | None = None
        self.digest = Digest(md5)

    def __repr__(self) -> str:
        return f"SinkWriter({self.sink.name!r})"

    @property
    def size(self) -> int:
        return self.sink.size

    def write(self, data: bytes | memoryview) -> Awaitable[None]:
        # The sink's own coroutine is returned: no frame of ours per chunk.
        self.digest.update(data)
        return self.sink.write(data)

    async def restart(self, etag: str | None) -> None:
        if self.sink.size:
            await self.sink.restart()
            self.digest = self.digest.fresh()
        self.etag = etag

    async def end(self, check: Callable[[Digest], None]) -> None:
        check(self.digest)
