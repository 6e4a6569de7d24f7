"""``OUT/index.csv``: the jobs of an archive with their names and addresses, for people."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .._core.text import printable
from .._io.atomic import write_atomic
from ..errors import HoverBentleyError

INDEX_NAME = "index.csv"
#: The takeoff table ``hover archive --takeoff`` writes beside the index (see ``.takeoff``).
TAKEOFF_NAME = "takeoff.csv"
COLUMNS = ("provider", "job_id", "name", "address", "state", "updated_at", "directory")


class UnreadableIndexError(HoverBentleyError):
    """An index (``index.csv`` or a shard's part) is not UTF-8 text: its rows cannot be read,
    and rewriting it would lose them."""


def index_text(data: bytes, name: str = INDEX_NAME) -> str:
    """The text of the index ``name`` whose bytes are ``data``; raises
    :class:`UnreadableIndexError` naming it when they are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableIndexError(
            f"{name} is not UTF-8 text (byte {exc.start}): its job rows cannot be read;"
            " mend it or move it aside (the next run lists the jobs it archives)"
        ) from None


def update_index(root: Path, rows: list[dict[str, str]]) -> None:
    """Merge ``rows`` into the index (keyed by provider and job id) and rewrite it atomically."""
    path = root / INDEX_NAME
    try:
        existing: bytes | None = path.read_bytes()
    except FileNotFoundError:
        existing = None
    write_atomic(path, merge_index(existing, rows))


def merge_index(
    existing: bytes | None, rows: list[dict[str, str]], name: str = INDEX_NAME
) -> bytes:
    """The text of an index that holds ``existing`` (the bytes of the index ``name``, if any)
    and ``rows``."""
    merged: dict[tuple[str, str], dict[str, str]] = {}
    if existing is not None:
        text = io.StringIO(index_text(existing, name), newline="")
        for row in csv.DictReader(text):
            merged[(row.get("provider", ""), row.get("job_id", ""))] = row
    for row in rows:
        merged[(row.get("provider", ""), row.get("job_id", ""))] = row
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for key in sorted(merged, key=lambda k: (k[0], _numeric(k[1]))):
        writer.writerow({c: spreadsheet_cell(merged[key].get(c, "")) for c in COLUMNS})
    return buffer.getvalue().encode("utf-8")


def _numeric(job_id: str) -> tuple[int, str]:
    return (int(job_id), "") if job_id.isdigit() else (0, job_id)


def spreadsheet_cell(value: str) -> str:
    """``value`` safe in a spreadsheet: no control characters, and no formula (a leading
    ``=``, ``+``, ``-`` or ``@`` is quoted)."""
    # Names come from users: keep spreadsheet formulas from running when the file is opened.
    value = printable(value)
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value
