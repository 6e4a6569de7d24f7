"""Waiting for a local server (the demo's Azurite, the tests' servers): up, exited, too slow."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from hoverbentley.cli.local_server import free_port, stop, wait_listening
from hoverbentley.errors import ConfigurationError


def _python(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def test_returns_once_the_process_listens_and_stop_ends_it() -> None:
    port = free_port()
    server = (
        "import socket, time; s = socket.socket(); time.sleep(0.5);"
        f" s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(60)"
    )
    proc = _python(server)
    try:
        wait_listening(proc, port, 20, "server")
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        stop(proc)
    assert proc.returncode is not None


def test_a_process_that_exits_first_is_named_with_its_status() -> None:
    proc = _python("import sys; sys.exit(3)")
    with pytest.raises(ConfigurationError, match=r"^server exited at start \(status 3\)$"):
        wait_listening(proc, free_port(), 20, "server")


def test_a_process_that_never_listens_is_given_up_on_after_the_timeout() -> None:
    proc = _python("import time; time.sleep(60)")
    started = time.monotonic()
    try:
        with pytest.raises(ConfigurationError, match=r"^server did not start within 0.5 s$"):
            wait_listening(proc, free_port(), 0.5, "server")
    finally:
        stop(proc)
    assert time.monotonic() - started < 10
