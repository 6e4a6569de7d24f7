"""Local servers the tests start from npm packages (Prism, Azurite); skipped or failed if absent."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import free_port

__all__ = ["ROOT", "find_tool", "free_port", "missing", "running"]

ROOT = Path(__file__).resolve().parent.parent
REQUIRE = os.environ.get("HOVERBENTLEY_REQUIRE_SERVICES") == "1"


def find_tool(name: str, env_var: str) -> str | None:
    """The path of an npm tool: from ``env_var``, ``.ci/node``, or ``PATH``."""
    candidates = [os.environ.get(env_var), str(ROOT / ".ci/node/node_modules/.bin" / name)]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which(name)


def missing(tool: str, env_var: str) -> None:
    """Skip the test, or fail it when CI demands every local server."""
    message = f"{tool} is not installed (set {env_var} or run .ci/run once)"
    if REQUIRE:
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def running(command: Sequence[str], port: int, log: Path, timeout: float = 60) -> Iterator[None]:
    """Run ``command`` until it accepts connections on ``port``; stop it afterwards."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{command[0]} exited: {log.read_text(errors='replace')[-2000:]}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start within {timeout} s") from None
                time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
