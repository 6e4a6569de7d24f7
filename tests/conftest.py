"""Shared fixtures: the anyio backend and the emulator.

A module chooses what its emulator serves with a module-level ``EMULATOR = EmulatorConfig(...)``
(default: the two Hover seed jobs and the Bentley catalogue, no generated Hover jobs).
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests import services
from tests.flavours import FLAVOURS


def pytest_configure(config: pytest.Config) -> None:
    """Let the test-tool installer speak on the terminal, past ``-q`` and output capture."""

    def announce(message: str) -> None:
        # Looked up when needed: the terminal reporter registers after this hook.
        capture = config.pluginmanager.getplugin("capturemanager")
        terminal = config.pluginmanager.getplugin("terminalreporter")
        if capture is None or terminal is None:
            print(message)
            return
        with capture.global_and_fixture_disabled():
            terminal.write_line(message)

    services.announce = announce
    # A suite started in the background by a non-interactive shell inherits SIGINT ignored,
    # and an ignored signal stays ignored across exec: the tests of Ctrl-C (in this process
    # and in the CLI processes it starts) need it delivered, as a terminal delivers it.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    """``"async"`` or ``"sync"``: a test that takes it runs with each flavour of the clients
    (see tests/flavours.py)."""
    return str(request.param)


def _config(request: pytest.FixtureRequest) -> EmulatorConfig:
    config = getattr(request.module, "EMULATOR", None)
    return config if isinstance(config, EmulatorConfig) else EmulatorConfig(jobs=0)


@pytest.fixture
async def emu(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """An emulator on the test's own event loop (for async tests)."""
    async with Emulator(_config(request)) as emulator:
        yield emulator


@pytest.fixture
def emu_thread(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """An emulator on a loop of its own in a thread (for tests that start CLI processes)."""
    with Emulator.threaded(_config(request)) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def emu_module(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """One threaded emulator for a whole module (tests that only read)."""
    with Emulator.threaded(_config(request)) as emulator:
        yield emulator
