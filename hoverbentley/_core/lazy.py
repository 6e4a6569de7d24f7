"""A package's public names, imported on first use (PEP 562).

Importing one module of a package runs the package's ``__init__`` first; when that imports
every public name, ``hoverbentley.archive.takeoff`` would load aiohttp and both providers'
clients. A package built with :func:`lazy_names` imports a name's module when the name is
first read.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_names(package: str, homes: Mapping[str, Iterable[str]]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: each name of ``homes`` (relative module ->
    names) imported from its module when first read, then kept as a plain attribute."""
    where = {name: module for module, names in homes.items() for name in names}

    def attribute(name: str) -> Any:
        home = where.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return attribute
