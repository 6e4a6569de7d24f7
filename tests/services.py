"""Local servers the tests start from npm packages (Prism, Azurite).

A tool is taken from its environment variable, ``.ci/node`` or the test-tools cache or ``PATH``;
failing those, when ``npm`` is on ``PATH``, it is installed once into the cache
(``~/.cache/hoverbentley-test-tools``, or ``HOVERBENTLEY_TEST_TOOLS``). A test skips only when
the tool cannot be had, and fails instead under ``HOVERBENTLEY_REQUIRE_SERVICES=1`` (CI).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest

from hoverbentley.cli.azurite import azurite_command
from tests.processes import free_port, running

__all__ = ["ROOT", "find_tool", "free_port", "missing", "running"]

ROOT = Path(__file__).resolve().parent.parent
REQUIRE = os.environ.get("HOVERBENTLEY_REQUIRE_SERVICES") == "1"
CACHE = Path(
    os.environ.get("HOVERBENTLEY_TEST_TOOLS", Path.home() / ".cache" / "hoverbentley-test-tools")
)
#: The npm package of each tool (the versions CI installs).
PACKAGES = {"prism": "@stoplight/prism-cli@5", "azurite-blob": "azurite@3"}
_install_errors: dict[str, str] = {}
#: Where a message reaches the person running the tests even under ``-q`` and output capture
#: (set by ``tests/conftest.py`` to pytest's terminal; a plain print outside pytest).
announce: Callable[[str], None] = print


def _installed(name: str, env_var: str) -> str | None:
    candidates = [
        os.environ.get(env_var),
        str(ROOT / ".ci/node/node_modules/.bin" / name),
        str(CACHE / "node_modules/.bin" / name),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which(name)


@cache
def _npm_install(package: str) -> str | None:
    """Install ``package`` into the cache (once per machine); the error, if that failed."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not on PATH"
    CACHE.mkdir(parents=True, exist_ok=True)
    announce(
        f"Installing {package} with npm into {CACHE} for the tests that need it"
        " (once per machine; Prism and Azurite together are about 270 MB)..."
    )
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel sessions install one after the other
        command = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"]
        result = subprocess.run(
            [*command, "--prefix", str(CACHE), package],
            capture_output=True,
            text=True,
            timeout=600,
        )
    if result.returncode != 0:
        return f"npm install {package} failed: {result.stderr.strip()[-500:]}"
    return None


def find_tool(name: str, env_var: str) -> str | None:
    """The path of an npm tool, installed into the cache first if need be and possible."""
    found = _installed(name, env_var)
    if found is None and name in PACKAGES:
        error = _npm_install(PACKAGES[name])
        if error:
            _install_errors[name] = error
        found = _installed(name, env_var)
    return found


_BY_VARIABLE = {"HOVERBENTLEY_PRISM": "prism", "HOVERBENTLEY_AZURITE": "azurite-blob"}


def missing(tool: str, env_var: str, name: str | None = None) -> None:
    """Skip the test, or fail it when CI demands every local server.

    ``name`` is the executable (by default the one ``env_var`` names)."""
    name = name or _BY_VARIABLE.get(env_var, tool)
    why = _install_errors.get(name, "not found")
    message = (
        f"{tool} is not available ({why}). To run this test, install Node.js with npm (the"
        f" tests then install {PACKAGES.get(name, name)} into {CACHE} themselves), or set"
        f" {env_var} to the {name} executable"
    )
    if REQUIRE:
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def prism_mock(document: Path, workdir: Path) -> Iterator[str]:
    """Stoplight Prism serving ``document`` strictly (``--errors``); yields its base URL."""
    tool = find_tool("prism", "HOVERBENTLEY_PRISM")
    if tool is None:
        missing("Stoplight Prism", "HOVERBENTLEY_PRISM")
    assert tool is not None
    port = free_port()
    command = [tool, "mock", str(document), "--host", "127.0.0.1", "--port", str(port), "--errors"]
    with running(command, port, workdir / "prism.log"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def azurite_blob(workdir: Path) -> Iterator[str]:
    """Microsoft's Azurite blob service in memory; yields ``http://127.0.0.1:PORT``."""
    tool = find_tool("azurite-blob", "HOVERBENTLEY_AZURITE")
    if tool is None:
        missing("Azurite", "HOVERBENTLEY_AZURITE", "azurite-blob")
    assert tool is not None
    port = free_port()
    command = azurite_command(tool, port)
    with running(command, port, workdir / "azurite.log"):
        yield f"http://127.0.0.1:{port}"
