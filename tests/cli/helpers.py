"""Running the CLI as a process against the emulator."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import threading
from pathlib import Path

from hoverbentley.emulator import Emulator
from tests.support import HB, cli_env

#: No client-side rate limit: the emulator is local.
FAST = ["--requests-per-minute", "0"]


def hover_env(emu: Emulator | None, **overrides: str) -> dict[str, str]:
    """A CLI environment with the emulator's Hover credentials (or a dead port without one)."""
    values = {
        "HOVER_TOKEN": emu.config.token if emu else "emu-static-token",
        "HOVER_CURRENT_USER_EMAIL": sorted(emu.config.user_emails)[0] if emu else "a@b.example",
        # Nothing listens on the discard port: a usage error must stop before any request.
        "HOVER_BASE_URL": emu.hover_url if emu else "http://127.0.0.1:9",
    }
    values.update(overrides)
    return cli_env(**{k: v for k, v in values.items() if v})


def bentley_env(emu: Emulator, **overrides: str) -> dict[str, str]:
    """A CLI environment with the emulator's Bentley token and base URLs."""
    values = {
        "BENTLEY_TOKEN": emu.config.bentley.token,
        "BENTLEY_BASE_URL": emu.reality_modeling_url,
        "BENTLEY_REALITY_URL": emu.reality_management_url,
    }
    values.update(overrides)
    return cli_env(**{k: v for k, v in values.items() if v})


def hb(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``hoverbentley ARGS`` to completion."""
    return subprocess.run(
        [*HB, *map(str, args)],
        env=env if env is not None else cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed run printed on stderr (and nothing on stdout)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def run_on_terminal(
    argv: list[str], env: dict[str, str], *, columns: int = 80, timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run ``argv`` with stderr on a pseudo-terminal ``columns`` wide; return the result and
    everything written to the terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    seen = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO once the other side is closed
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    env = {k: v for k, v in env.items() if k != "COLUMNS"}
    try:
        result = subprocess.run(
            argv, env=env, stdout=subprocess.PIPE, stderr=slave, text=True, timeout=timeout
        )
    finally:
        os.close(slave)
        reader.join(10)
        os.close(master)
    return result, seen.decode()
