"""Response bodies: read whole within a limit, or streamed with stall detection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..errors import APIConnectionError, APIError, APITimeoutError
from .bandwidth import Bandwidth
from .failures import (
    BodyEncodingError,
    HopFailure,
    exchange_errors,
    payload_errors,
    wrap_error,
)


class Content(Protocol):
    """A body as it arrives: the lean client's, or aiohttp's ``StreamReader``."""

    async def readchunk(self) -> tuple[bytes | memoryview, bool]: ...

    def at_eof(self) -> bool: ...

    def set_exception(self, exc: BaseException) -> None: ...


class Received(Protocol):
    """A response with its headers in and its body unread: the lean client's
    :class:`~.lean_connection.LeanResponse`, or aiohttp's ``ClientResponse``."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content_length(self) -> int | None: ...

    @property
    def content(self) -> Content: ...

    def release(self) -> Any: ...


async def next_piece(content: Content) -> bytes | memoryview:
    """The next piece of the body as received, ``b""`` at its end (the empty reads that
    mark the end of one HTTP chunk of a chunked body are passed over)."""
    while True:
        piece, chunk_end = await content.readchunk()
        if piece or not chunk_end or content.at_eof():
            return piece


class _Stalled(Exception):
    """Set on a response's reader by the stall watchdog, to end the pending read."""


class BodyStream:
    """An open response whose body is read in chunks.

    A body that delivers no byte for ``stall_timeout`` seconds is cut with
    :class:`~hoverbentley.errors.APITimeoutError`, so the caller can resume it. With a
    ``bandwidth``, each chunk waits for its turn of the transport's shared limit.
    """

    def __init__(
        self,
        response: Received,
        url: str,
        stall_timeout: float,
        bandwidth: Bandwidth | None = None,
    ) -> None:
        self._response = response
        self._stall_timeout = stall_timeout
        self._bandwidth = bandwidth
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self.url = url

    @property
    def content_length(self) -> int | None:
        return self._response.content_length

    async def chunks(self) -> AsyncIterator[bytes | memoryview]:
        """Yield the body as it arrives, one received piece at a time.

        Each piece is what the parser took from one socket read (up to 256 KiB), handed on
        as the bytes object it already is, or, for a body the lean client reads straight
        into buffers of its own, a view of all that arrived since the last read (up to the
        high-water mark and a buffer's end): neither cut to a size nor joined with the
        pieces buffered beside it (``readany`` joined them, copying every byte of a large
        body once more). The writer gathers pieces into batches without copying them.
        """
        content = self._response.content
        watchdog = _Watchdog(content, self._stall_timeout)
        received = 0
        try:
            while True:
                watchdog.wait()
                try:
                    chunk = await next_piece(content)
                except _Stalled:
                    raise APITimeoutError(
                        f"the body stalled: no data for {self._stall_timeout:g} s", url=self.url
                    ) from None
                except payload_errors():
                    message = cut_short(received, self.content_length)
                    raise APIConnectionError(message, url=self.url) from None
                except Exception as exc:
                    raise wrap_error(exc, self.url, sent=True) from None
                watchdog.got()
                if not chunk:
                    return
                received += len(chunk)
                if self._bandwidth is None:
                    yield chunk
                    continue
                step = self._bandwidth.piece
                pieces = [chunk] if len(chunk) <= step else _cut(memoryview(chunk), step)
                for piece in pieces:
                    await self._bandwidth.take(len(piece))
                    yield piece
        finally:
            watchdog.stop()


def _cut(view: memoryview, size: int) -> list[memoryview]:
    """``view`` in pieces of ``size`` bytes (the last may be shorter), without copying."""
    return [view[start : start + size] for start in range(0, len(view), size)]


class _Watchdog:
    """Ends a read that has waited ``timeout`` seconds for data.

    One timer for the whole body instead of one per chunk: a read records when it began
    waiting, and the timer, when it fires early, is set again for the wait in progress.
    Time the consumer spends between reads does not count.
    """

    def __init__(self, content: Content, timeout: float) -> None:
        self._content = content
        self._timeout = timeout
        self._loop = asyncio.get_running_loop()
        self._since = 0.0
        self._waiting = False
        self._timer: asyncio.TimerHandle | None = None

    def wait(self) -> None:
        """A read begins."""
        self._since = self._loop.time()
        self._waiting = True
        if self._timer is None:
            self._timer = self._loop.call_at(self._since + self._timeout, self._check)

    def got(self) -> None:
        """The read returned."""
        self._waiting = False

    def _check(self) -> None:
        self._timer = None
        if not self._waiting:
            return  # the next read sets the timer again
        if self._loop.time() - self._since >= self._timeout:
            self._content.set_exception(_Stalled())
            return
        self._timer = self._loop.call_at(self._since + self._timeout, self._check)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def cut_short(received: int, declared: int | None) -> str:
    """What a body that ended early says (aiohttp's ``ContentLengthError: 400`` says less)."""
    if declared is not None:
        return f"the connection closed after {received} of {declared} bytes"
    return f"the connection closed after {received} bytes, before the body was complete"


async def read_body(
    response: Received, url: str, origin: str, *, limit: int, timeout: float
) -> bytes:
    """The whole body; an error body is cut at ``limit`` bytes, a success body refused beyond
    it, and a body that sends nothing for ``timeout`` seconds cut (the read timeout)."""
    error = response.status >= 300
    declared = response.content_length
    if declared is not None and declared > limit and not error:
        raise APIError(
            f"response body of {declared} bytes is larger than the limit of {limit} bytes",
            url=url,
        )
    parts: list[bytes | memoryview] = []
    total = 0
    content = response.content
    watchdog = _Watchdog(content, timeout)
    try:
        while True:
            watchdog.wait()
            chunk = await next_piece(content)
            watchdog.got()
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                if error:
                    parts.append(chunk[: max(0, limit - (total - len(chunk)))])
                    break
                raise APIError(f"response body is larger than the limit of {limit} bytes", url=url)
            parts.append(chunk)
    except _Stalled:
        said = (
            f"read timeout: {urlsplit(url).netloc or url} sent {total} bytes of the response,"
            f" then nothing for {timeout:g} s (--read-timeout)"
        )
        raise HopFailure(APITimeoutError(said, url=url), sent=True, origin=origin) from None
    except payload_errors() as exc:
        said = str(exc) if isinstance(exc, BodyEncodingError) else cut_short(total, declared)
        raise HopFailure(APIConnectionError(said, url=url), sent=True, origin=origin) from None
    except exchange_errors() as exc:
        raise HopFailure(wrap_error(exc, url, sent=True), sent=True, origin=origin) from None
    finally:
        watchdog.stop()
    return b"".join(parts)
