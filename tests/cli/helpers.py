"""Running the CLI as a process against the emulator."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
from collections.abc import Callable
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


class Followed:
    """A CLI process whose standard error is read line by line as it is written."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._seen = 0  # lines up to the last one wait_for returned
        self._ended = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for(self, wanted: Callable[[str], bool], timeout: float = 120) -> str:
        """The first line of stderr after the one the last call returned that is ``wanted``,
        once it is written (the process ending without one fails the test)."""

        def found() -> int | None:
            return next(
                (i for i in range(self._seen, len(self.lines)) if wanted(self.lines[i])), None
            )

        with self._changed:
            self._changed.wait_for(lambda: self._ended or found() is not None, timeout=timeout)
            index = found()
            assert index is not None, "\n".join(self.lines)
            self._seen = index + 1
            return self.lines[index]

    def stop(self, sent: signal.Signals = signal.SIGTERM) -> tuple[int, str]:
        """Send ``sent``; the exit status and stdout once the process ended."""
        self.proc.send_signal(sent)
        stdout, _ = self.proc.communicate(timeout=60)
        self._reader.join(10)
        return self.proc.returncode, stdout

    def finish(self) -> tuple[int, str]:
        """The exit status and stdout once the process ended by itself."""
        stdout, _ = self.proc.communicate(timeout=120)
        self._reader.join(10)
        return self.proc.returncode, stdout

    def __enter__(self) -> Followed:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=30)
