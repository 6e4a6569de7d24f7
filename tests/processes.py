"""Local servers for tests and benchmarks: a free port, and a process run until it listens.

Free of pytest, so the benchmarks (which run without the test extra) use it too. The port,
the wait and the stop are the package's own (``hoverbentley.cli.local_server``, which
starts the demo's Azurite); this adds the log file and its tail in the error.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from hoverbentley.cli.local_server import free_port, stop, wait_listening
from hoverbentley.errors import ConfigurationError

__all__ = ["free_port", "running"]


@contextmanager
def running(command: Sequence[str], port: int, log: Path, timeout: float = 60) -> Iterator[int]:
    """Run ``command`` until it accepts connections on ``port``; yield its pid; stop it after.

    Its output goes to ``log``, whose tail the error names if it exits or does not start.
    """
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        try:
            wait_listening(proc, port, timeout, command[0])
        except ConfigurationError as exc:
            raise RuntimeError(f"{exc}: {log.read_text(errors='replace')[-2000:]}") from None
        yield proc.pid
    finally:
        stop(proc)
