"""The measurement documents the emulator serves: JSON that agrees with itself, the
versions each deliverable offers, and a few with nulls and unknown sections.

Read with json.loads and plain aiohttp, none of the client's code."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig

from .support import api_url, bearer, running

pytestmark = pytest.mark.anyio

EXTERIOR = {"json", "summarized_json", "full_json"}
INTERIOR = {"json", "full_json"}


def documents(emu: Emulator) -> list[tuple[dict[str, Any], str, Any]]:
    """``(model, version key, parsed document)`` of every complete model's JSON documents."""
    out = []
    for job_id in emu.job_ids():
        for model in emu.job_payload(job_id)["models"]:
            if model["state"] != "complete":
                continue
            for key, url in model["artifacts"]["measurements"].items():
                if url.split("?")[0].endswith(".json"):
                    out.append((model, key, json.loads(emu.content_of(url))))
    return out


def test_every_document_agrees_with_itself() -> None:
    emu = Emulator(EmulatorConfig(jobs=40))
    found = documents(emu)
    summaries = [d for _, key, d in found if "roof" in d]
    assert len(summaries) > 30
    for doc in summaries:
        roof = doc["roof"]
        facets = roof["roof_facets"]["area"]
        pitches = roof["pitch"]
        assert sum(p["area"] for p in pitches) == facets
        assert sum(p["percentage"] for p in pitches) == pytest.approx(100, abs=0.01)
        for line in ("ridges_hips", "valleys", "rakes", "gutters_eaves", "flashing"):
            assert roof[line]["area"] is None and roof[line]["total"] >= 0
        for table in (roof["waste_factor"], {"area": doc["siding_waste"]}):
            if table is not None and table["area"] is not None:
                areas = list(table["area"].values())
                assert areas == sorted(areas) and len(set(areas)) == len(areas)
                assert next(iter(table["area"])) == "zero"
        if roof["waste_factor"] is not None:
            assert roof["waste_factor"]["area"]["zero"] == facets
            assert roof["waste_factor"]["area"]["plus_20_percent"] == pytest.approx(facets * 1.2)
        totals = doc["area"]["total"]
        parts = [doc["area"][k] for k in ("facades", "openings", "unknown")]
        if all(p["siding"] is not None for p in parts):
            assert sum(p["siding"] for p in parts) == pytest.approx(totals["siding"])
    # A few documents have nulls, a few carry sections a newer document might add.
    with_nulls = [d for d in summaries if d["siding_waste"] is None]
    with_extra = [d for _, _, d in found if "solar" in d]
    assert 0 < len(with_nulls) < len(summaries) and 0 < len(with_extra) < len(found)


def test_each_deliverable_offers_its_versions() -> None:
    emu = Emulator(EmulatorConfig(jobs=30))
    offered: dict[int, set[str]] = {}
    for model, key, doc in documents(emu):
        offered.setdefault(model["id"], set()).add(key)
        if "interior" in model["deliverable"].lower():
            assert "roof" not in doc
        elif key == "full_json":
            labels = [w["label"] for w in doc["windows"]]
            assert labels and all(label.startswith("W-") for label in labels)
            assert all(g["label"].startswith("WG-") for g in doc["window_groups"])
        else:
            assert "roof" in doc
    kinds = {frozenset(keys) for keys in offered.values()}
    # The seed's Main House (15081683) and Floor 2 (15252133) offer the default json only.
    assert kinds == {frozenset(EXTERIOR), frozenset(INTERIOR), frozenset({"json"})}


async def test_a_document_is_served_whole_and_changes_when_the_file_does() -> None:
    async with running(jobs=1) as (emu, session):
        model = next(m for m in emu.job_payload(30_000_001)["models"] if m["state"] == "complete")
        url = model["artifacts"]["measurements"]["json"]
        headers = bearer(emu)
        async with session.get(api_url(emu, url), headers=headers) as resp:
            body = await resp.read()
            assert resp.status == 200 and resp.content_type == "application/json"
        expected = emu.expected_file(url)
        assert (len(body), hashlib.sha256(body).hexdigest()) == (expected.size, expected.sha256)
        json.loads(body)
        emu.change_file(url)
        async with session.get(api_url(emu, url), headers=headers) as resp:
            changed = await resp.read()
        assert changed != body and json.loads(changed)
        assert emu.expected_file(url).sha256 == hashlib.sha256(changed).hexdigest()
