"""A blocking client over an async one: its own event loop in a thread, through an anyio portal.

Every sync client owns an async client and a :class:`Loop` (an anyio blocking portal). A call
sends the async method to that loop and waits for its result; an async iterator becomes a
plain iterator that fetches each item on the loop and closes the async one when it is left.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import partial
from typing import Any, Generic, ParamSpec, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from .._client.base import ApiClient
from .._http.credentials import Auth
from ..errors import ConfigurationError, HoverBentleyError
from ..redact import redact_url

A = TypeVar("A", bound=ApiClient)
P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")
T = TypeVar("T")


#: Which sync client drives an async client (the sync archive runs on that client's loop).
_drivers: weakref.WeakKeyDictionary[ApiClient, weakref.ref[SyncClient[Any]]] = (
    weakref.WeakKeyDictionary()
)


def driver_of(client: ApiClient) -> SyncClient[Any] | None:
    """The open sync client whose :attr:`~SyncClient.aio` is ``client``, if any."""
    ref = _drivers.get(client)
    driver = ref() if ref is not None else None
    return driver if driver is not None and not driver.closed else None


#: The loop the client being built in this thread joins (set by :meth:`SyncClient.same_loop`).
_joining = threading.local()


def wait(portal: BlockingPortal, func: Callable[[], Awaitable[T]]) -> T:
    """``await func()`` on the portal's loop; a wait left early (Ctrl-C) cancels the call there.

    The cancelled call is waited for (it only unwinds: its connection closes), so what
    follows, an iterator's ``aclose`` say, never meets it still running.
    """
    finished = threading.Event()

    async def call() -> T:
        try:
            return await func()
        finally:
            finished.set()

    # Ctrl-C while the call is being handed to the loop would leave it running with no
    # future to cancel it by: the main thread notes it then, and raises it once it has one.
    interrupted: list[int] = []
    deferred = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    future = None
    try:
        if deferred:
            signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum))
        try:
            future = portal.start_task_soon(call)
        finally:
            if deferred:
                signal.signal(signal.SIGINT, signal.default_int_handler)
        if interrupted:
            raise KeyboardInterrupt
        return future.result()
    except BaseException:
        if future is not None and future.cancel():
            finished.wait()
        raise


class Loop:
    """An event loop in a thread of its own, shared by the clients opened on it.

    It stops when the last of them closes.
    """

    def __init__(self) -> None:
        self._context = start_blocking_portal(name="hoverbentley-loop")
        self.portal: BlockingPortal = self._context.__enter__()
        self._thread = self.portal.call(threading.get_ident)
        self._users = 0
        self._lock = threading.Lock()

    @property
    def here(self) -> bool:
        """Whether the calling thread is the loop's own (a callback's), which must not wait
        on the loop."""
        return threading.get_ident() == self._thread

    def join(self) -> None:
        with self._lock:
            self._users += 1

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._users == 0
        if last:
            self._context.__exit__(None, None, None)


class SyncClient(Generic[A]):
    """The base of the blocking clients: ``with SyncHoverClient(...) as hover:``.

    The async client it drives is :attr:`aio` (for the archive sources, or anything else
    that takes an async client). Calls may come from several threads at once; they run
    concurrently on the client's loop. Callbacks given to a method (``on_progress``) run on
    that loop's thread. A call whose wait is interrupted (``KeyboardInterrupt``) is cancelled
    on the loop, its connection closed.
    """

    _aio: A
    _loop: Loop | None = None
    #: The iterators of :meth:`iterate` not yet finished, closed with the client.
    _iterators: weakref.WeakSet[Any]

    def _open(self, make: Callable[..., A], args: Any, kwargs: Any) -> None:
        """Start a loop (or join one, see :meth:`same_loop`) and build the async client on it."""
        loop: Loop | None = getattr(_joining, "loop", None)
        _joining.loop = None
        if kwargs.get("session") is not None:
            raise ConfigurationError(
                f"{type(self).__name__} runs its own event loop, and an aiohttp session works"
                " only on the loop it was made on: give trace_configs= to trace its requests, or"
                " give the session to an async client"
            )
        self._iterators = weakref.WeakSet()
        loop = loop or Loop()
        loop.join()
        try:
            # Built on the loop: the client's locks and limiters belong to it.
            self._aio = loop.portal.call(partial(make, *args, **kwargs))
        except BaseException:
            loop.leave()
            raise
        self._loop = loop
        _drivers[self._aio] = weakref.ref(self)

    def __repr__(self) -> str:
        state = "" if self._loop is not None else ", closed"
        return f"{type(self).__name__}(base_url={redact_url(self._aio.base_url)!r}{state})"

    def __enter__(self: S) -> S:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_loop", None) is None:
            return
        warnings.warn(f"unclosed {type(self).__name__}", ResourceWarning, stacklevel=1)
        if not sys.is_finalizing():  # at exit the loop's thread may be gone: leave it
            with contextlib.suppress(Exception):
                self.close()

    @property
    def aio(self) -> A:
        """The async client this one drives (use it only on this client's loop, see :meth:`run`)."""
        return self._aio

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self._aio.base_url

    @property
    def auth(self) -> Auth:
        """The credentials (``auth=`` of a client opened with :meth:`same_loop` shares them)."""
        return self._aio.auth

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._loop is None

    def shares_loop(self, other: SyncClient[Any]) -> bool:
        """Whether ``other`` runs on this client's loop (see :meth:`same_loop`)."""
        return self._loop is not None and self._loop is other._loop

    def close(self) -> None:
        """Close the HTTP session and, with the last client on it, stop the loop (idempotent).

        Iterators of this client still open are closed first. Called on the loop's own
        thread (from a callback), it returns at once and a thread of its own closes."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if loop.here:
            threading.Thread(target=self._shut, args=(loop,), name="hoverbentley-close").start()
        else:
            self._shut(loop)

    def _shut(self, loop: Loop) -> None:
        try:
            for items in list(self._iterators):
                with contextlib.suppress(Exception):  # one being read on another thread
                    loop.portal.call(items.aclose)
            loop.portal.call(self._aio.aclose)
        finally:
            loop.leave()

    def _portal(self) -> BlockingPortal:
        if self._loop is None:
            raise HoverBentleyError(f"{type(self).__name__} is closed: open a new one")
        if self._loop.here:
            raise HoverBentleyError(
                f"{type(self).__name__} was called on its own loop's thread (from a callback"
                " such as on_progress), where it would wait on itself: use its .aio there"
            )
        return self._loop.portal

    def run(self, func: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """``await func(*args, **kwargs)`` on this client's loop; its result or its error.

        For async functions of the package that take this client's :attr:`aio`, such as
        ``verify_archive``.
        """

        async def call() -> R:
            return await func(*args, **kwargs)

        return wait(self._portal(), call)

    def iterate(self, items: AsyncIterator[T], /) -> Iterator[T]:
        """``items`` (made by :attr:`aio`) item by item; leaving the loop early, or closing
        the client, closes it."""
        self._iterators.add(items)
        try:
            while True:
                try:
                    item = wait(self._portal(), items.__anext__)
                except StopAsyncIteration:
                    return
                yield item
        finally:
            self._iterators.discard(items)
            close = getattr(items, "aclose", None)
            if close is not None and self._loop is not None and not self._loop.here:
                self._loop.portal.call(close)

    def same_loop(self, cls: Callable[P, S], /, *args: P.args, **kwargs: P.kwargs) -> S:
        """A new sync client of class ``cls`` on this client's loop (``cls(*args, **kwargs)``).

        Clients used together in one call (a :class:`~hoverbentley.BentleySource` reading
        reality data through a Reality Management client) must share a loop. Close it like
        any other; the loop stops with the last client on it.
        """
        self._portal()
        _joining.loop = self._loop
        try:
            return cls(*args, **kwargs)
        finally:
            _joining.loop = None
