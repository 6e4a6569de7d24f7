"""Where a directory is to be made: what stands in its way."""

from __future__ import annotations

from pathlib import Path


def file_in_the_way(directory: Path) -> Path | None:
    """The nearest of ``directory`` and its parents that exists, if it is no directory (a
    file where a folder is to be made); ``None`` when the directory can be made or is there."""
    for path in (directory, *directory.parents):
        if path.exists():
            return None if path.is_dir() else path
    return None
