"""Ctrl-C in the calling thread while a sync call waits: the call is cancelled on the client's
loop, so its connection closes at once instead of staying open until the server answers."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from hoverbentley import HttpConfig
from hoverbentley.sync import SyncHoverClient

#: A guard against a hang, never reached when the test passes (the waits end on events).
GUARD = 60.0


class SilentServer:
    """Accepts one connection, reads the request and never answers; notes when the client
    closes the connection."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received = threading.Event()
        self.closed_by_client = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(65536)
            self.received.set()
            while conn.recv(65536):
                pass
            self.closed_by_client.set()

    def close(self) -> None:
        self.listener.close()


@contextmanager
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


def interrupt_when_received(server: SilentServer) -> threading.Thread:
    """Send SIGINT to the main thread once the request is at the server (the call then waits)."""
    main = threading.main_thread().ident
    assert main is not None

    def interrupt() -> None:
        if server.received.wait(GUARD):
            signal.pthread_kill(main, signal.SIGINT)

    thread = threading.Thread(target=interrupt, daemon=True)
    thread.start()
    return thread


def client_of(server: SilentServer) -> SyncHoverClient:
    """A client of ``server`` that waits for its answer as long as the test may."""
    return SyncHoverClient(
        token="t",
        current_user_email="a@example.com",
        base_url=f"http://127.0.0.1:{server.port}",
        http=HttpConfig(read_timeout=3600, max_outage=0, max_retries=0),
    )


CALLS: dict[str, Callable[[SyncHoverClient], Any]] = {
    "method": lambda hover: hover.get_job(15084303),
    "iterator": lambda hover: next(hover.iter_jobs()),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_ctrl_c_cancels_the_call_and_closes_its_connection(call: str) -> None:
    assert threading.current_thread() is threading.main_thread()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with (
        silent_server() as server,
        client_of(server) as hover,
    ):
        interrupter = interrupt_when_received(server)
        with pytest.raises(KeyboardInterrupt):
            CALLS[call](hover)
        interrupter.join()
        # Still inside the client: only the cancelled call can have closed the connection.
        assert server.closed_by_client.wait(GUARD), "the call kept its connection open"


async def tasks_on_the_loop() -> int:
    return len(asyncio.all_tasks())


def test_ctrl_c_while_the_call_is_handed_to_the_loop_still_cancels_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The interrupt lands after the call is scheduled and before its future is returned."""
    from anyio.from_thread import BlockingPortal

    handed = BlockingPortal.start_task_soon
    armed: list[bool] = []

    def interrupted_on_return(self: BlockingPortal, *args: Any, **kwargs: Any) -> Any:
        future = handed(self, *args, **kwargs)
        if armed:
            armed.clear()
            signal.raise_signal(signal.SIGINT)
        return future

    monkeypatch.setattr(BlockingPortal, "start_task_soon", interrupted_on_return)
    with (
        silent_server() as server,
        client_of(server) as hover,
    ):
        before = hover.run(tasks_on_the_loop)
        armed.append(True)
        with pytest.raises(KeyboardInterrupt):
            hover.get_job(15084303)
        assert not armed
        # The call was cancelled and has ended: nothing of it is left running on the loop.
        assert hover.run(tasks_on_the_loop) == before
