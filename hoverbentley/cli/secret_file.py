"""Where a new webhook's secret goes: a file only its owner reads, the screen only if asked.

``--secret-file PATH`` is reserved before the webhook is registered (created empty with mode
0600, never over an existing file, which may hold the secret of another webhook), so a path
that cannot be written stops the command before any request. Once the provider answered, the
secret replaces the empty file atomically (mode 0600, the secret alone, no newline); if the
registration failed, the empty file is removed again.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from .._io.atomic import write_atomic
from ..errors import ConfigurationError, HoverBentleyError

MODE = 0o600


class SecretNotWritten(HoverBentleyError):
    """The webhook was registered, but its secret could not be written to its file."""


def add_secret_options(parser: argparse.ArgumentParser, provider: str) -> None:
    """``--secret-file`` and ``--show-secret``."""
    group = parser.add_argument_group("the webhook's secret")
    group.add_argument(
        "--secret-file",
        metavar="PATH",
        help=f"write the secret {provider} signs the events with to PATH (a new file, mode"
        " 0600, the secret alone); it is printed only with --show-secret",
    )
    group.add_argument(
        "--show-secret",
        action="store_true",
        help="also print the secret (on stdout; with --json, in the object)",
    )


class SecretFile:
    """The ``--secret-file`` of one registration (``None``: the secret is only shown)."""

    def __init__(self, path: str | None, *, show: bool) -> None:
        if path is None and not show:
            raise ConfigurationError(
                "say where the webhook's secret goes: --secret-file PATH (a new file, mode"
                " 0600), and --show-secret to print it as well"
            )
        self.path = Path(path).expanduser() if path is not None else None
        self._reserved = False

    def reserve(self) -> None:
        """Create the file empty, owner-only; refuse an existing one or a path not writable."""
        path = self.path
        if path is None:
            return
        if path.exists() or path.is_symlink():
            raise ConfigurationError(
                f"--secret-file {path} exists: it may hold the secret of another webhook;"
                " name a new file, or remove that one first"
            )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create --secret-file {path}: {exc.strerror or exc}"
            ) from None
        os.close(fd)
        self._reserved = True

    def release(self) -> None:
        """Remove the file reserved for a registration that did not happen."""
        if self.path is not None and self._reserved:
            with contextlib.suppress(OSError):
                if self.path.stat().st_size == 0:
                    self.path.unlink()
            self._reserved = False

    def fill(self, secret: str | None, *, webhook: str, advice: str) -> None:
        """Write ``secret`` of ``webhook`` (its description) to the file; ``advice`` says what
        to do when that fails, since the webhook exists by then."""
        path = self.path
        if path is None:
            return
        if not secret:
            self.release()
            raise SecretNotWritten(f"{webhook} was registered, but the answer held no secret")
        try:
            write_atomic(path, secret.encode(), mode=MODE)
        except OSError as exc:
            raise SecretNotWritten(
                f"{webhook} was registered, but its secret could not be written to {path}:"
                f" {exc.strerror or exc}; {advice}"
            ) from None
        self._reserved = False
