"""Measurement documents the emulator serves for ``measurements.json`` and its versions.

Each is drawn from a generator seeded with the file's key (and version, so a changed file
changes), and agrees with itself: the pitch areas add up to the facets' area and their
percentages to 100, the waste tables grow with the percentage, the facade totals are the
sum of their parts. About one document in four has nulls where a figure is unknown, and
about one in four carries sections a newer document might add. Exterior models get the
summarized shape (default ``json`` and ``summarized_json``) and windows (``full_json``);
interior models get rooms.
"""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PITCHES = ("4/12", "5/12", "6/12", "7/12", "8/12", "9/12", "10/12", "12/12")
WASTE = (0, 5, 10, 15, 20)
SIDING_WASTE = (0, 10, 18)
_LINES = ("ridges_hips", "valleys", "rakes", "gutters_eaves", "flashing", "step_flashing")


def document_version(key: str) -> str | None:
    """The measurements version a file key names (``""`` for the default document), or
    ``None`` when the key is not a ``measurements.json``."""
    parts = urlsplit(key)
    if not parts.path.endswith("/measurements.json"):
        return None
    return dict(parse_qsl(parts.query)).get("version", "")


def _waste_key(percent: int) -> str:
    return "zero" if percent == 0 else f"plus_{percent}_percent"


def _waste(area: float, percents: tuple[int, ...]) -> dict[str, float]:
    return {_waste_key(p): round(area * (100 + p) / 100, 2) for p in percents}


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """``parts`` positive whole numbers adding up to ``total``, the first the largest."""
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    pieces = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    return sorted(pieces, reverse=True)


def _roof(rng: random.Random, nulls: bool) -> dict[str, Any]:
    area = rng.randrange(900, 6000, 5)
    count = rng.randint(1, 4)
    areas = _split(rng, area, count)
    names = rng.sample(PITCHES, count)
    shares = [round(a * 100 / area, 2) for a in areas]
    shares[-1] = round(100 - sum(shares[:-1]), 2)  # the rounding goes to the smallest
    pitch = [
        {"roof_pitch": n, "area": a, "percentage": s}
        for n, a, s in zip(names, areas, shares, strict=True)
    ]
    roof: dict[str, Any] = {
        "roof_facets": {"area": area, "total": rng.randint(4, 40), "length": None}
    }
    for line in _LINES:
        length: float | None = round(rng.uniform(0, area / 12), 2)
        if nulls and rng.random() < 0.3:
            length = None
        roof[line] = {"area": None, "total": rng.randint(0, 30), "length": length}
    roof["pitch"] = pitch
    roof["waste_factor"] = {"area": _waste(area, WASTE)}
    if nulls and rng.random() < 0.5:
        roof["waste_factor"] = None
    return roof


def _pair(rng: random.Random, high: int) -> dict[str, float]:
    return {"siding": round(rng.uniform(0, high), 2), "other": round(rng.uniform(0, high / 8), 2)}


def _facades(rng: random.Random, nulls: bool) -> dict[str, Any]:
    facades, openings, unknown = _pair(rng, 3000), _pair(rng, 400), _pair(rng, 100)
    total = {k: round(facades[k] + openings[k] + unknown[k], 2) for k in ("siding", "other")}
    doc: dict[str, Any] = {
        "area": {"facades": facades, "openings": openings, "unknown": unknown, "total": total},
        "openings": {
            "quantity": {"siding": rng.randint(4, 40), "other": rng.randint(0, 4)},
            "tops_length": _pair(rng, 150),
            "sills_length": _pair(rng, 120),
            "sides_length": _pair(rng, 400),
        },
        "siding_waste": _waste(total["siding"], SIDING_WASTE),
    }
    o = doc["openings"]
    o["total_perimeter"] = {
        k: round(o["tops_length"][k] + o["sills_length"][k] + o["sides_length"][k], 2)
        for k in ("siding", "other")
    }
    if nulls:
        doc["siding_waste"] = None
        doc["area"]["unknown"] = {"siding": None, "other": None}
    return doc


def _windows(rng: random.Random) -> dict[str, Any]:
    windows = []
    for level in range(1, rng.randint(1, 3) + 1):
        for n in range(1, rng.randint(2, 9) + 1):
            windows.append(
                {
                    "label": f"W-{level}{n:02d}",
                    "width": round(rng.uniform(18, 72), 2),
                    "height": round(rng.uniform(24, 84), 2),
                }
            )
    groups = [{"label": f"WG-{n}"} for n in range(1, len(windows) // 3 + 2)]
    rng.shuffle(groups)  # Hover does not promise the groups' order
    return {"windows": windows, "window_groups": groups}


def _interior(rng: random.Random) -> dict[str, Any]:
    areas = [round(rng.uniform(60, 400), 2) for _ in range(rng.randint(2, 8))]
    rooms = [{"name": f"Room {n}", "floor_area": a} for n, a in enumerate(areas, 1)]
    return {"rooms": rooms, "floor_area": round(sum(areas), 2)}


def measurements_document(key: str, version: int, *, interior: bool) -> bytes | None:
    """The body of the measurements file ``key`` (a URL path and query), or ``None`` when
    ``key`` is no ``measurements.json``."""
    kind = document_version(key)
    if kind is None:
        return None
    rng = random.Random(f"measurements:{key}#{version}")
    nulls = rng.random() < 0.25
    extra = rng.random() < 0.25
    doc: dict[str, Any]
    if interior:
        doc = _interior(rng) if kind != "full_json" else {"levels": [_interior(rng)]}
    elif kind == "full_json":
        doc = _windows(rng)
    else:
        doc = {"roof": _roof(rng, nulls), **_facades(rng, nulls)}
    if extra:
        doc["solar"] = {"panels": rng.randint(0, 30), "azimuth": rng.randint(0, 359)}
        doc["schema"] = {"version": rng.choice(("2.1", "3.0-beta"))}
    return json.dumps(doc, separators=(",", ":")).encode()
