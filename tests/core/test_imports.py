"""Every module of the package imports on its own, in a fresh interpreter (no import cycles)."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys

import pytest

import hoverbentley

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")

# One interpreter loads the third-party libraries once, then forks a child per module: each
# child starts with nothing of hoverbentley imported, as a fresh interpreter would.
_CHECK = """
import importlib, json, os, sys, traceback
import aiohttp, anyio, msgspec  # noqa: F401  (shared, not ours)
failures = {}
for name in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(name)
            code = 0
        except BaseException:
            os.write(write, traceback.format_exc().strip().splitlines()[-1].encode())
            code = 1
        os._exit(code)
    os.close(write)
    message = os.read(read, 4096).decode()
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if status:
        failures[name] = message
print(json.dumps(failures))
"""


def _modules() -> list[str]:
    found = pkgutil.walk_packages(hoverbentley.__path__, prefix="hoverbentley.")
    # ``__main__`` runs the command line when imported: that is what it is for.
    return sorted(m.name for m in found if m.name != "hoverbentley.__main__")


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    modules = _modules()
    assert "hoverbentley.cli" in modules and "hoverbentley.emulator" in modules
    done = subprocess.run(
        [sys.executable, "-c", _CHECK, json.dumps(modules)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) == {}
