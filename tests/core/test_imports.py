"""Every module of the package imports on its own, in a fresh interpreter (no import cycles)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import hoverbentley


def _modules() -> list[str]:
    found = pkgutil.walk_packages(hoverbentley.__path__, prefix="hoverbentley.")
    # ``__main__`` runs the command line when imported: that is what it is for.
    return sorted(m.name for m in found if m.name != "hoverbentley.__main__")


def _import_alone(module: str) -> tuple[str, int, str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60
    )
    return module, done.returncode, done.stderr


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    modules = _modules()
    assert "hoverbentley.cli" in modules and "hoverbentley.emulator" in modules
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_import_alone, modules))
    failures = {m: err.strip().splitlines()[-1] for m, code, err in results if code != 0}
    assert failures == {}
