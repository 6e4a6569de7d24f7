"""The JSON samples of the project's two seed documents (the text of the public API pages).

The documents sit beside this module, byte for byte as received (see README.md there); the
samples are read out of their text here, so tests compare against the documents themselves and
not against a copy of the emulator's data.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: Hover's "get /api/v3/jobs/{id}" page: two sample job bodies.
HOVER_JOB_DOC = HERE / "000_5c2f84880340e354.txt"
#: Bentley Reality Modeling v1 "Get jobs" page: a jobs page and one error body per status.
BENTLEY_JOBS_DOC = HERE / "001_1ef468eb9f5c45d9.txt"

_RESPONSE = re.compile(r"^Response (\d{3}) ")


def _samples(text: str) -> list[tuple[int, Any]]:
    """``(line number, value)`` of every JSON value that starts a line of ``text``."""
    decoder = json.JSONDecoder()
    found: list[tuple[int, Any]] = []
    offset, end = 0, 0
    for number, line in enumerate(text.split("\n")):
        if line.startswith("{") and offset >= end:
            value, end = decoder.raw_decode(text, offset)
            found.append((number, value))
        offset += len(line) + 1
    return found


@cache
def hover_samples() -> dict[int, dict[str, Any]]:
    """The sample job bodies of the Hover page, by job id."""
    text = HOVER_JOB_DOC.read_text(encoding="utf-8")
    return {value["id"]: value for _, value in _samples(text)}


@cache
def bentley_samples() -> dict[str, dict[str, Any]]:
    """The sample bodies of the Bentley page by response status (``"200"``, ``"401"``, ...)."""
    text = BENTLEY_JOBS_DOC.read_text(encoding="utf-8")
    lines = text.split("\n")
    out: dict[str, dict[str, Any]] = {}
    for number, value in _samples(text):
        headings = [m.group(1) for line in lines[:number] if (m := _RESPONSE.match(line))]
        if headings and headings[-1] not in out:
            out[headings[-1]] = value
    return out
