from __future__ import annotations

import json

import msgspec

from hoverbentley.hover.files import job_files
from hoverbentley.hover.models import Job
from tests.seeds import hover_samples


def _load(job_id: int) -> tuple[Job, dict[str, object]]:
    raw = json.dumps(hover_samples()[job_id]).encode()
    return msgspec.json.decode(raw, type=Job), json.loads(raw)


def test_every_url_of_complete_models_is_listed_once() -> None:
    job, raw = _load(15084303)
    listing = job_files(job, raw)
    house = raw["models"][1]  # type: ignore[index]
    expected = {u for group in house["artifacts"].values() for u in group.values()}
    expected |= {i["url"] for i in house["images"]}
    assert {f.url for f in listing.files} == expected
    assert len(listing.files) == len(expected) == 10 + 10
    assert [(s.model_id, s.state) for s in listing.skipped] == [(15081686, "failed")]


def test_version_variants_get_distinct_names() -> None:
    job, raw = _load(15084303)
    paths = {f.key: f.relpath for f in job_files(job, raw).files}
    assert paths["cad_exports.xml"] == "models/15081683/cad_exports/xml.xml"
    assert paths["cad_exports.xml_v2"] == "models/15081683/cad_exports/xml_v2.xml"
    assert paths["cad_exports.threejs_jsonv3"] == "models/15081683/cad_exports/threejs_jsonv3.json"
    assert paths["images.166283852"] == "models/15081683/images/166283852.jpg"
    assert len(set(paths.values())) == len(paths)


def test_all_models_includes_failed_ones_with_their_version_variants() -> None:
    job, raw = _load(15084303)
    listing = job_files(job, raw, all_models=True)
    garage = [f for f in listing.files if f.model_id == 15081686]
    assert {f.key for f in garage if f.kind == "artifact"} >= {
        "measurements.summarized_json",
        "measurements.full_json",
        "cad_exports.xml_with_orientation",
    }
    assert len({f.relpath for f in listing.files}) == len(listing.files)


def test_unknown_artifact_keys_are_walked_not_dropped() -> None:
    job, raw = _load(15254733)
    model = raw["models"][0]  # type: ignore[index]
    model["artifacts"]["wireframes"] = {
        "roof": {"png": "https://hover.to/api/v3/models/1/artifacts/wireframe_roof.png?version=2"}
    }
    model["artifacts"]["measurements"]["paint_measurements"] = (
        "https://hover.to/api/v3/models/1/artifacts/measurements.json?version=paint_measurements"
    )
    listing = job_files(job, raw)
    keys = {f.key: f for f in listing.files}
    assert keys["wireframes.roof.png"].relpath == "models/15252194/wireframes/roof/png.png"
    assert keys["measurements.paint_measurements"].format == "json"


def test_interior_seed_cross_model_url_is_kept_under_its_own_model() -> None:
    job, raw = _load(15254733)
    files = {f.relpath: f for f in job_files(job, raw).files}
    full = files["models/15252194/measurements/full_json.json"]
    assert "/models/15081686/" in full.url  # as the payload says; named by the listing model
    assert {f.format for f in files.values()} == {"pdf", "json", "fml", "jpg"}


def test_hostile_keys_stay_inside_the_model_directory() -> None:
    job, raw = _load(15254733)
    model = raw["models"][0]  # type: ignore[index]
    model["artifacts"] = {
        "../../..": {"/etc/passwd": "https://hover.to/x/../../a.pdf"},
        "CON": {"x\x00y": "https://hover.to/b.pdf"},
    }
    for f in job_files(job, raw).files:
        parts = f.relpath.split("/")
        assert parts[:2] == ["models", str(f.model_id)]
        assert ".." not in parts and "" not in parts
        assert "\x00" not in f.relpath
