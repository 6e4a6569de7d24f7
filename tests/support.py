"""Test helpers: throwaway aiohttp servers on loopback, fast HTTP settings, clients and CLI
environments for the emulator."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web

from hoverbentley import HoverClient, HttpConfig
from hoverbentley.bentley import RealityModelingClient
from hoverbentley.emulator import Emulator
from tests.flavours import flavoured

#: Fast retries and no client-side rate limit: every server in the tests is local.
FAST = HttpConfig(requests_per_minute=None, max_retries=2, backoff_base=0.01, backoff_max=0.02)


def fast(**changes: Any) -> HttpConfig:
    """:data:`FAST` with some settings changed."""
    return dataclasses.replace(FAST, **changes)


@asynccontextmanager
async def serve(
    app: web.Application, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 (over TLS with ``ssl_context``) and yield its base URL."""
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "https" if ssl_context is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def tls_for_loopback() -> tuple[trustme.CA, ssl.SSLContext]:
    """A CA of its own, and a server context for 127.0.0.1 with a certificate it signed."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return ca, context


@contextmanager
def serve_in_thread(app: web.Application) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 in a background thread (for tests that start processes)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, object] = {}

    async def start() -> web.AppRunner:
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        box["url"] = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait()
    try:
        yield str(box["url"])
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


#: The command line that runs this package's CLI.
HB = [sys.executable, "-m", "hoverbentley"]


def hover_archive(out: object, *args: str) -> list[str]:
    """The command line of ``hoverbentley hover archive OUT ARGS...``."""
    return [*HB, "hover", "archive", str(out), *args]


def cli_env(**values: str) -> dict[str, str]:
    """An environment for a CLI process: this one without any ``HOVER_``, ``BENTLEY_`` or
    ``HOVERBENTLEY_`` settings, plus ``values``."""
    prefixes = ("HOVER_", "BENTLEY_", "HOVERBENTLEY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(values)
    return env


#: Runs the command line given as arguments, then writes to the file named by
#: ``HB_MODULES_FILE`` whether aiohttp had been imported by the end.
_WATCHING_IMPORTS = """
import os, sys
from hoverbentley.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as stop:
    status = stop.code
with open(os.environ["HB_MODULES_FILE"], "w") as out:
    out.write(str("aiohttp" in sys.modules))
sys.exit(status)
"""


def run_watching_imports(
    tmp_path: Path, *args: str | Path, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run ``hoverbentley ARGS...`` in a process of its own: what it did, and whether it
    imported aiohttp."""
    seen = tmp_path / "imported-aiohttp.txt"
    done = subprocess.run(
        [sys.executable, "-c", _WATCHING_IMPORTS, *map(str, args)],
        env={**(env or cli_env()), "HB_MODULES_FILE": str(seen)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, seen.read_text() == "True"


class TimedLog(list[Any]):
    """A request log that also notes when each entry arrived (``time.monotonic()``).

    Give it to an emulator before it starts (``emu.requests = TimedLog()``): the emulator
    appends every request it sees.
    """

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[float] = []

    def append(self, item: Any) -> None:
        self.arrived.append(time.monotonic())
        super().append(item)


def user_email(emu: Emulator) -> str:
    """The e-mail of the Hover user the emulator lets act (its first, in sorted order)."""
    return sorted(emu.config.user_emails)[0]


def hover_env(emu: Emulator, **values: str) -> dict[str, str]:
    """A CLI environment pointing at the emulator's Hover host with its static token."""
    settings = {
        "HOVER_TOKEN": emu.config.token,
        "HOVER_CURRENT_USER_EMAIL": user_email(emu),
        "HOVER_BASE_URL": emu.hover_url,
    }
    return cli_env(**{**settings, **values})


def bentley_env(emu: Emulator, **values: str) -> dict[str, str]:
    """A CLI environment pointing at the emulator's Bentley hosts with its static token."""
    settings = {
        "BENTLEY_TOKEN": emu.config.bentley.token,
        "BENTLEY_BASE_URL": emu.reality_modeling_url,
        "BENTLEY_REALITY_URL": emu.reality_management_url,
    }
    return cli_env(**{**settings, **values})


def hover_client(emu: Emulator, flavour: str = "async", **kwargs: Any) -> HoverClient:
    """A HoverClient of the emulator: its static token (unless OAuth settings are given), its
    user, :data:`FAST` settings; ``kwargs`` override. ``flavour="sync"``: the sync client
    behind a :class:`~tests.flavours.SyncView`."""
    options: dict[str, Any] = {
        "current_user_email": user_email(emu),
        "base_url": emu.hover_url,
        "http": FAST,
    }
    if "client_id" not in kwargs:
        options["token"] = emu.config.token
    return flavoured(flavour, HoverClient, **{**options, **kwargs})  # type: ignore[no-any-return]


def reality_modeling(emu: Emulator, flavour: str = "async", **kwargs: Any) -> RealityModelingClient:
    """A RealityModelingClient of the emulator (static token unless ``client_id`` is given);
    ``flavour="sync"``: the sync client behind a :class:`~tests.flavours.SyncView`."""
    options: dict[str, Any] = {"base_url": emu.reality_modeling_url, "http": FAST}
    if "client_id" not in kwargs:
        options["token"] = emu.config.bentley.token
    return flavoured(flavour, RealityModelingClient, **{**options, **kwargs})  # type: ignore[no-any-return]


@contextmanager
def small_tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (``64k``, ``1m``) at ``mount_point``, for disk-full tests.

    Mounting needs root (CI runs as root); elsewhere the test is skipped, or fails where
    ``HOVERBENTLEY_REQUIRE_SERVICES=1`` asks for every test to run.
    """
    from tests.services import REQUIRE

    mount_point.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        message = f"cannot mount a small tmpfs here: {result.stderr.strip()}"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
