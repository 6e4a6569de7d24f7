"""The files of the two seed jobs, written out by hand from the seed page (tests/seeds/000_…).

Neither the client's listing nor the emulator's expected files compute these lists: each URL
below was copied from the page, grouped by model and model state. A complete model's artifacts
and images are files to archive; a failed model's are listed only with ``all_models``; the
``three_d_experience`` links are web pages, never files.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.hover.files import job_files
from hoverbentley.hover.models import Job
from tests.seeds import hover_samples
from tests.support import hover_client

KiB = 1024
EMULATOR = EmulatorConfig(
    jobs=0,
    sizes={"image": (KiB, 2 * KiB), "measurements": (KiB, 2 * KiB), "cad_exports": (KiB, 2 * KiB)},
)

M = "/api/v3/models"
IMG = "/api/v2/images"


def _exterior(model: int) -> list[str]:
    return [
        f"{M}/{model}/artifacts/measurements.pdf",
        f"{M}/{model}/artifacts/measurements.json",
        f"{M}/{model}/artifacts/measurements.xlsx",
        f"{M}/{model}/artifacts/cad_export.skp",
        f"{M}/{model}/artifacts/cad_export.dwg",
        f"{M}/{model}/artifacts/cad_export.dxf",
        f"{M}/{model}/artifacts/cad_export.xml",
        f"{M}/{model}/artifacts/cad_export.xml?version=v2",
        f"{M}/{model}/artifacts/cad_export.xml?version=with_orientation",
        f"{M}/{model}/artifacts/cad_export.json",
    ]


#: Job 15084303 "Main House": model 15081683 (Main House) complete.
MAIN_HOUSE = [
    *_exterior(15081683),
    *(
        f"{IMG}/{n}/image.jpg"
        for n in (
            166283852, 166283860, 166283856, 166283859, 166283858,
            166283853, 166283854, 166283855, 166283857, 166283861,
        )
    ),
]  # fmt: skip
#: Job 15084303: model 15081686 (Garage) failed; it also has the two measurements versions.
GARAGE = [
    *_exterior(15081686),
    f"{M}/15081686/artifacts/measurements.json?version=summarized_json",
    f"{M}/15081686/artifacts/measurements.json?version=full_json",
    *(
        f"{IMG}/{n}/image.jpg"
        for n in (
            166283885, 166283883, 166283891, 166283890, 166283889, 166283882,
            166283888, 166283892, 166283884, 166283886, 166283887,
        )
    ),
]  # fmt: skip
#: Job 15254733 (interior): both models complete. Floor 1's ``full_json`` points at model
#: 15081686 on the page itself; it is that URL the archive fetches.
FLOOR_1 = [
    f"{M}/15252194/artifacts/measurements.pdf",
    f"{M}/15252194/artifacts/measurements.json",
    f"{M}/15081686/artifacts/measurements.json?version=full_json",
    f"{M}/15252194/artifacts/cad_export.fml",
    f"{IMG}/168263170/image.jpg",
]
FLOOR_2 = [
    f"{M}/15252133/artifacts/measurements.pdf",
    f"{M}/15252133/artifacts/measurements.json",
    f"{M}/15252133/artifacts/cad_export.fml",
    f"{IMG}/168262297/image.jpg",
]
COMPLETE = {15084303: {15081683: MAIN_HOUSE}, 15254733: {15252194: FLOOR_1, 15252133: FLOOR_2}}
FAILED = {15084303: {15081686: GARAGE}, 15254733: {}}


def _path_qs(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _by_model(files: list[tuple[int, str]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for model, url in files:
        out.setdefault(model, []).append(_path_qs(url))
    return {m: sorted(urls) for m, urls in out.items()}


def _sorted(table: dict[int, list[str]]) -> dict[int, list[str]]:
    return {m: sorted(urls) for m, urls in table.items()}


def test_the_hand_written_lists_have_the_counts_the_page_shows() -> None:
    assert (len(MAIN_HOUSE), len(GARAGE), len(FLOOR_1), len(FLOOR_2)) == (20, 23, 5, 4)
    for lists in (COMPLETE, FAILED):
        for table in lists.values():
            for urls in table.values():
                assert len(set(urls)) == len(urls)


@pytest.mark.parametrize("job_id", [15084303, 15254733])
def test_client_lists_every_file_of_complete_models(job_id: int) -> None:
    raw = hover_samples()[job_id]
    listing = job_files(msgspec.json.decode(json.dumps(raw), type=Job), raw)
    assert _by_model([(f.model_id, f.url) for f in listing.files]) == _sorted(COMPLETE[job_id])
    assert {s.model_id for s in listing.skipped} == set(FAILED[job_id])


@pytest.mark.parametrize("job_id", [15084303, 15254733])
def test_client_lists_failed_models_too_with_all_models(job_id: int) -> None:
    raw = hover_samples()[job_id]
    listing = job_files(msgspec.json.decode(json.dumps(raw), type=Job), raw, all_models=True)
    expected = _sorted({**COMPLETE[job_id], **FAILED[job_id]})
    assert _by_model([(f.model_id, f.url) for f in listing.files]) == expected


@pytest.mark.anyio
@pytest.mark.parametrize("job_id", [15084303, 15254733])
async def test_emulator_expects_and_serves_exactly_these_files(
    emu: Emulator, job_id: int, tmp_path: Path
) -> None:
    expected = emu.expected_files(job_id)
    assert _by_model([(f.model_id, f.url) for f in expected]) == _sorted(COMPLETE[job_id])
    async with hover_client(emu) as hover:
        for n, url in enumerate(u for urls in COMPLETE[job_id].values() for u in urls):
            result = await hover.download(emu.hover_url + url, tmp_path / str(n))
            assert result.sha256 == emu.expected_file(emu.hover_url + url).sha256
