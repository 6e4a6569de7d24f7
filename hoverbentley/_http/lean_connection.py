"""One keep-alive HTTP/1.1 connection of the lean client: a request at a time, parsed by llhttp.

The socket is read into one buffer of the connection's own (a buffered protocol: no bytes
object per read, and over TLS the decrypted records are not joined), and ``httptools``
(llhttp, the parser of uvloop's authors) parses the head and copies each body piece out of it
as a bytes object that is handed on as it is. A body with a ``Content-Length`` (not chunked,
not to be decompressed) that did not come whole with its head is then read straight into
buffers of its own, up to its last byte and never past it: the reader is handed views of what
arrived since its last read, without a copy or an object per socket read. The transport
stops reading while more than ``high_water`` bytes wait for the reader.

A response answers just as much of aiohttp's ``ClientResponse`` as the transport and the body
readers use (status, headers, ``content_length``, ``content.readchunk``,
``content.set_exception``, ``release``), so the layers above take either.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from .failures import PayloadError
from .inflate import ENCODINGS, Inflater

_T = TypeVar("_T")

#: Bytes one read of the socket takes (uvloop's own reads take as much).
_READ_SIZE = 256 * 1024
#: The largest buffer a body is read straight into (the reader's views keep each alive until
#: the last is written). The first is :data:`_READ_SIZE`; the next is twice as large after a
#: read that filled all the room offered, at least a first buffer's worth: a slow body never
#: holds more than a small buffer.
_DIRECT_BUFFER = 4 * 1024 * 1024

_EMPTY = memoryview(bytearray(0))

#: The most body bytes still to come that a released response waits for and drops to keep its
#: connection (a redirect's few hundred bytes); a longer rest closes the connection.
DRAIN_LIMIT = 64 * 1024
#: How long a released response waits for that rest before the connection is closed.
DRAIN_SECONDS = 5.0


class LeanConnection(asyncio.BufferedProtocol):
    """The protocol of one connection; :meth:`start` sends a request, :attr:`response`
    is its response once the headers are in."""

    def __init__(self, high_water: int) -> None:
        #: Body bytes buffered for the reader before the connection stops reading the socket.
        self.high_water = high_water
        self._loop = asyncio.get_running_loop()
        #: What the socket is read into: the parser copies each piece out of it.
        self._view = memoryview(bytearray(_READ_SIZE))
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        #: When the connection went back to its pool (the loop's clock).
        self.idle_since = 0.0
        self._response: LeanResponse | None = None
        self._headers: asyncio.Future[LeanResponse] | None = None
        self._header_list: list[tuple[str, str]] = []
        self._got_bytes = False
        self._lost = False
        self._decompress = False
        self._head = False
        #: Bytes of the body still to come straight into its buffers (none: through the parser).
        self._direct = 0
        self._keep_alive = False

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._direct:
            assert self._response is not None
            return self._response.content.direct_buffer(self._direct)
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        self._got_bytes = True
        if self._direct:
            self._direct -= nbytes
            response = self._response
            assert response is not None
            response.content.direct_filled(nbytes)
            if not self._direct:
                # A fresh parser for whatever else comes: bytes nobody asked for fail the
                # connection, as they would have in the old parser.
                self._parser = httptools.HttpResponseParser(self)
                response.finish(reusable=self._keep_alive)
            return
        try:
            self._parser.feed_data(self._view[:nbytes])
        except httptools.HttpParserError as exc:  # an upgrade included: never asked for
            self._fail(PayloadError(f"malformed response: {exc}"))
            return
        response = self._response
        if response is not None and response.direct_length and not response.complete:
            # The rest of the body is read straight into the body's own buffers.
            self._direct = response.direct_length - response.content.received

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        response = self._response
        if response is not None and not response.complete and response.until_eof:
            response.finish(reusable=False)  # a body without a length ends with the connection
            return
        self._fail(exc or ConnectionResetError("the server closed the connection"))

    def pause_writing(self) -> None:
        pass  # a request is a few hundred bytes

    def resume_writing(self) -> None:
        pass

    # -- httptools callbacks ------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._response is not None:
            return  # a trailer of a chunked body: never a header of the response
        # Optional whitespace around a value is not part of it (RFC 9110, 5.5). Decoded as
        # aiohttp decodes them: a Location of raw UTF-8 is the URL it names.
        self._header_list.append(
            (
                name.decode("utf-8", "surrogateescape"),
                value.decode("utf-8", "surrogateescape").strip(" \t"),
            )
        )

    def on_headers_complete(self) -> None:
        if self._response is not None:
            # A second response in one exchange: never asked for; the connection is unusable.
            self._fail(PayloadError("the server sent a response not asked for"))
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim response: the real one follows
            self._header_list = []
            return
        headers = CIMultiDictProxy(CIMultiDict(self._header_list))
        response = LeanResponse(self, status, headers, decompress=self._decompress)
        self._keep_alive = self._parser.should_keep_alive()
        self._header_list = []
        self._response = response
        waiting, self._headers = self._headers, None
        if waiting is not None and not waiting.done():
            waiting.set_result(response)
        if self._head:  # the parser, not told of the HEAD, would wait for a body never sent
            response.finish(reusable=self._keep_alive)  # complete: never read as a body

    def on_body(self, body: bytes) -> None:
        response = self._response
        # Once its message is complete, a body is another's (a faulty server's bytes past
        # it, already failing the connection): never more of this one.
        if response is not None and not response.complete:
            response.content.feed(body)

    def on_message_complete(self) -> None:
        response = self._response
        if response is not None:
            response.finish(reusable=self._parser.should_keep_alive())

    # -- the client's side --------------------------------------------------------------------

    @property
    def reusable(self) -> bool:
        """Whether the next request may be sent on this connection."""
        return not self._lost and self.transport is not None and not self.transport.is_closing()

    @property
    def fresh(self) -> bool:
        """No byte of the current exchange came back yet (a failure then may be a stale
        keep-alive connection the server closed while it was idle)."""
        return not self._got_bytes

    def start(
        self, request: bytes, *, decompress: bool = False, head: bool = False
    ) -> asyncio.Future[LeanResponse]:
        """Send ``request``; the future is its response, resolved once the headers are in.

        ``decompress``: a gzip or deflate body is handed on decompressed (the request asked
        for those encodings). ``head``: the request is a HEAD, whose response has no body
        whatever its headers say."""
        assert self.transport is not None
        self._decompress = decompress
        self._head = head
        self._response = None
        self._header_list = []
        self._got_bytes = False
        self._direct = 0
        self._parser = httptools.HttpResponseParser(self)
        self._headers = self._loop.create_future()
        self.transport.write(request)
        return self._headers

    def _fail(self, exc: BaseException) -> None:
        self._direct = 0
        headers, self._headers = self._headers, None
        if headers is not None and not headers.done():
            headers.set_exception(exc)
        response = self._response
        if self.transport is not None:
            self.transport.close()
        self._lost = True
        if response is not None and not response.complete:
            if not isinstance(exc, PayloadError):
                exc = PayloadError(f"the body was cut short ({exc})")
            response.content.set_exception(exc)
            response.lost()

    def pause_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def close(self) -> None:
        self._lost = True
        if self.transport is not None:
            self.transport.close()


class LeanBody:
    """The body of a :class:`LeanResponse`, read in the pieces the parser handed over."""

    def __init__(self, connection: LeanConnection) -> None:
        self._connection = connection
        self._pieces: deque[bytes | memoryview] = deque()
        self._buffered = 0
        self._paused = False
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._discarding = False
        self._inflater: Inflater | None = None
        #: Body bytes the parser handed over so far (as sent: compressed, if it was).
        self.received = 0
        #: A body read straight from the socket: the buffer it goes into, the bytes of the
        #: buffer handed to the reader, and those filled.
        self._buffer = _EMPTY
        self._taken = 0
        self._filled = 0
        #: The room the last read was offered, and the size of the next buffer.
        self._offered = 0
        self._next_size = _READ_SIZE

    @property
    def inflating(self) -> bool:
        """Whether the body is handed on decompressed."""
        return self._inflater is not None

    def direct_buffer(self, left: int) -> memoryview:
        """Where the socket's next read of the body goes, at most ``left`` bytes (the rest
        of the body): the free end of the buffer, or a new buffer once it is full."""
        if self._filled == len(self._buffer):
            self._cut()
            self._buffer = memoryview(bytearray(min(left, self._next_size)))
            self._taken = self._filled = 0
        room = self._buffer[self._filled : self._filled + left]
        self._offered = len(room)
        return room

    def direct_filled(self, nbytes: int) -> None:
        """The last read put ``nbytes`` bytes of the body in the buffer."""
        if nbytes == self._offered >= _READ_SIZE:  # the body comes faster than it is read
            self._next_size = min(2 * self._next_size, _DIRECT_BUFFER)
        self.received += nbytes
        self._filled += nbytes
        if self._discarding:
            self._taken = self._filled
            return
        self._buffered += nbytes
        if self._buffered > self._connection.high_water and not self._paused:
            self._paused = True
            self._connection.pause_reading()
        self._wake()

    def _cut(self) -> None:
        """Queue a view of what the buffer holds that the reader has not taken (later reads
        fill the buffer after it: the view never changes)."""
        if self._filled > self._taken:
            self._pieces.append(self._buffer[self._taken : self._filled])
            self._taken = self._filled

    def inflate(self, encoding: str) -> None:
        """Hand the body on decompressed from ``encoding`` (``gzip`` or ``deflate``), as it
        is read."""
        self._inflater = Inflater(encoding)

    def feed(self, piece: bytes) -> None:
        self.received += len(piece)
        if self._discarding:
            return
        self._pieces.append(piece)
        self._buffered += len(piece)
        if self._buffered > self._connection.high_water and not self._paused:
            self._paused = True
            self._connection.pause_reading()
        self._wake()

    def feed_eof(self) -> None:
        self._eof = True
        self._cut()  # the buffer's last bytes a view in the queue: the buffer is let go
        self._buffer = _EMPTY
        self._taken = self._filled = 0
        self._wake()

    def at_eof(self) -> bool:
        """Whether the whole body has been read."""
        return self._eof and not self._pieces and self._filled == self._taken

    def discard(self) -> None:
        """Nobody reads on: drop what is buffered and what still comes, and read the socket
        again if it was paused."""
        self._discarding = True
        self._pieces.clear()
        self._buffer = _EMPTY
        self._taken = self._filled = 0
        self._buffered = 0
        if self._paused:
            self._paused = False
            self._connection.resume_reading()

    def set_exception(self, exc: BaseException) -> None:
        """End the pending read (and every later one) with ``exc``."""
        self._error = exc
        self._wake()

    async def readchunk(self) -> tuple[bytes | memoryview, bool]:
        """The next piece of the body and ``False``; ``(b"", False)`` at its end."""
        while True:
            if self._error is not None:
                raise self._error
            if not self._pieces:
                self._cut()
            if self._pieces:
                piece = self._pieces.popleft()
                self._buffered -= len(piece)
                if self._paused and self._buffered <= self._connection.high_water // 2:
                    self._paused = False
                    self._connection.resume_reading()
                if self._inflater is not None:
                    piece = self._inflated(piece)
                    if not piece:
                        continue
                return piece, False
            if self._eof:
                if self._inflater is not None:
                    self._guarded(self._inflater.end)
                return b"", False
            self._waiter = self._connection._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def _inflated(self, piece: bytes | memoryview) -> bytes:
        assert self._inflater is not None
        out, rest = self._guarded(self._inflater.inflate, piece)
        if rest:  # read on from it next time, before what arrived after it
            self._pieces.appendleft(rest)
            self._buffered += len(rest)
        return out

    def _guarded(self, step: Callable[..., _T], *args: bytes | memoryview) -> _T:
        """``step(*args)``; an error it raises ends every later read too."""
        try:
            return step(*args)
        except PayloadError as exc:
            self._error = exc
            raise

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class LeanResponse:
    """A response on a :class:`LeanConnection`: status and headers, the body unread."""

    def __init__(
        self,
        connection: LeanConnection,
        status: int,
        headers: CIMultiDictProxy[str],
        *,
        decompress: bool = False,
    ) -> None:
        self.status = status
        self.headers = headers
        self.content = LeanBody(connection)
        if decompress:
            encoding = headers.get("Content-Encoding", "").strip().lower()
            if encoding in ENCODINGS:
                self.content.inflate(ENCODINGS[encoding])
        self.complete = False
        self._connection = connection
        self._reusable = False
        self._released = False
        self._handed_back = False
        self._drain_timer: asyncio.TimerHandle | None = None
        self._on_release: Callable[[LeanConnection, bool], None] | None = None
        length = headers.get("Content-Length")
        self.content_length = int(length) if length is not None and length.isdigit() else None
        chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        #: The length of a body read straight into buffers of its own (plain, not chunked,
        #: not decompressed); ``None``: through the parser.
        self.direct_length = (
            self.content_length
            if self.content_length
            and not chunked
            and not self.content.inflating
            and status >= 200
            and status not in (204, 304)
            else None
        )
        #: No length and not chunked: the body is whatever comes until the connection closes.
        #: (A Content-Length llhttp accepted but that is not plain digits still frames the
        #: body: the parser counts it, and a close before its end is a cut body.)
        self.until_eof = length is None and not chunked and status not in (204, 304)

    def on_release(self, callback: Callable[[LeanConnection, bool], None]) -> None:
        """Call ``callback(connection, reusable)`` once the connection is free again."""
        self._on_release = callback

    def finish(self, *, reusable: bool) -> None:
        """The parser reached the end of the message (once: a HEAD's may be reached twice)."""
        if self.complete:
            return
        self.complete = True
        self._reusable = reusable
        self.content.feed_eof()
        if self._released:
            # The rest of a released body came: the connection is free, on the loop's next
            # turn, once bytes a faulty server sent past the body have failed it (a request
            # waiting for the host's slot would take them for its response).
            asyncio.get_running_loop().call_soon(self._hand_back)

    def lost(self) -> None:
        """The connection failed before the end of the message."""
        if self._released:
            self._hand_back()

    def release(self) -> Any:
        """Done with the response. The connection goes back to its pool once the message is
        read to its end and the server keeps it alive: a small rest still on its way (a
        redirect's body that follows its headers) is read and dropped first; a larger or
        unknown rest closes the connection."""
        if self._released:
            return None
        self._released = True
        self.content.discard()
        remaining = (
            None if self.content_length is None else self.content_length - self.content.received
        )
        if (
            self.complete
            or remaining is None
            or remaining > DRAIN_LIMIT
            or not self._connection.reusable
        ):
            self._hand_back()
        else:
            self._drain_timer = asyncio.get_running_loop().call_later(
                DRAIN_SECONDS, self._connection.close
            )
        return None

    def _hand_back(self) -> None:
        if self._handed_back:
            return
        self._handed_back = True
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        reusable = self.complete and self._reusable and self._connection.reusable
        if not reusable:
            self._connection.close()
        if self._on_release is not None:
            self._on_release(self._connection, reusable)
