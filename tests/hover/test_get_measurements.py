"""``HoverClient.get_measurements`` against the emulator: the payload's link, typed plus raw,
and a kind the model does not offer."""

from __future__ import annotations

import json

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.errors import ConfigurationError
from hoverbentley.hover import FullMeasurements, SummarizedMeasurements, takeoff
from tests.support import hover_client

pytestmark = pytest.mark.anyio
EMULATOR = EmulatorConfig(jobs=6)


def exterior(emu: Emulator) -> tuple[int, int, str]:
    """Job id, model id and summarized_json URL of the first complete exterior model."""
    for job_id in emu.job_ids():
        for model in emu.job_payload(job_id)["models"]:
            url = model["artifacts"]["measurements"].get("summarized_json")
            if model["state"] == "complete" and url:
                return job_id, model["id"], url
    raise AssertionError("no complete exterior model")


async def test_the_summarized_document_of_a_model_typed_and_raw(
    emu: Emulator, flavour: str
) -> None:
    job_id, model_id, url = exterior(emu)
    async with hover_client(emu, flavour) as hover:
        job = await hover.get_job(job_id)
        model = next(m for m in job.models if m.id == model_id)
        record = await hover.get_measurements(model)
        full = await hover.get_measurements(model, "full_json")
    assert record.raw == emu.content_of(url) and record.kind == "summarized_json"
    doc = record.measurements
    assert isinstance(doc, SummarizedMeasurements)
    served = json.loads(record.raw)
    figures = takeoff(doc)
    assert figures.roof_area_sqft == served["roof"]["roof_facets"]["area"]
    assert figures.roof_squares == served["roof"]["roof_facets"]["area"] / 100
    assert isinstance(full.measurements, FullMeasurements)
    assert takeoff(full.measurements).windows == len(json.loads(full.raw)["windows"])
    # Fetched from the payload's links, versions and all, through the storage redirect.
    [summarized] = emu.requests_to("hover", f"/api/v3/models/{model.id}/artifacts/measurements")[:1]
    assert summarized.query["version"] == "summarized_json"
    assert len(emu.requests_to("storage", "/files/")) == 2


async def test_a_kind_the_model_does_not_offer_names_those_it_does(
    emu: Emulator, flavour: str
) -> None:
    async with hover_client(emu, flavour) as hover:
        job = await hover.get_job(15084303)
        main_house = next(m for m in job.models if m.id == 15081683)
        with pytest.raises(ConfigurationError) as missing:
            await hover.get_measurements(main_house)
        with pytest.raises(ConfigurationError) as not_json:
            await hover.get_measurements(main_house, "pdf")
        default = await hover.get_measurements(main_house, "json")
    assert str(missing.value) == (
        "model 15081683 offers no 'summarized_json' measurements; it offers: json, pdf, xlsx"
    )
    assert "'pdf' of model 15081683 is not a measurement document" in str(not_json.value)
    assert "json, summarized_json, full_json" in str(not_json.value)
    assert isinstance(default.measurements, SummarizedMeasurements)
    # Only the default document was asked for.
    asked = emu.requests_to("hover", "/api/v3/models/15081683/artifacts/")
    assert [(r.path, r.query.get("version")) for r in asked] == [
        ("/api/v3/models/15081683/artifacts/measurements.json", None)
    ]
