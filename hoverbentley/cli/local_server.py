"""A local server process: a free port for it, a wait until it listens, and a clean stop.

The demo's Azurite uses these; so do the tests and the benchmarks for their servers.
"""

from __future__ import annotations

import socket
import subprocess
import time

from ..errors import ConfigurationError

__all__ = ["free_port", "stop", "wait_listening"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float, name: str) -> None:
    """Return once ``proc`` accepts connections on 127.0.0.1:``port``.

    Raises :class:`ConfigurationError` naming ``name`` if the process exits first or does
    not listen within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise ConfigurationError(f"{name} exited at start (status {proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise ConfigurationError(f"{name} did not start within {timeout:g} s") from None
            time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc``, and kill it if it has not exited 10 s later."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
