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
# child starts with nothing of hoverbentley imported, as a fresh interpreter would, and has
# only our modules to import (quick even on a busy machine). A child whose import does not
# end within a minute fails, naming its module, instead of holding up the whole check.
_CHECK = """
import importlib, json, os, signal, sys, traceback
for library in json.loads(sys.argv[2]):  # shared, not ours; an extra may be missing
    try:
        importlib.import_module(library)
    except ImportError:
        pass

def _too_long(signum, frame):
    raise TimeoutError("the import took over 60 s")

failures = {}
for name in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        signal.signal(signal.SIGALRM, _too_long)
        signal.alarm(60)
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


#: The third-party libraries the package's modules import, loaded once before the forks.
_LIBRARIES = [
    "aiohttp",
    "anyio",
    "filelock",
    "httptools",
    "msgspec",
    "multidict",
    "obstore",
    "prometheus_client",
    "typing_extensions",
    "yarl",
]


@pytest.mark.timeout(900)
def test_every_module_imports_in_a_fresh_interpreter() -> None:
    modules = _modules()
    assert "hoverbentley.cli" in modules and "hoverbentley.emulator" in modules
    done = subprocess.run(
        [sys.executable, "-c", _CHECK, json.dumps(modules), json.dumps(_LIBRARIES)],
        capture_output=True,
        text=True,
        timeout=840,
        check=True,
    )
    assert json.loads(done.stdout) == {}
