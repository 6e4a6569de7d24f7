"""Decoding speed: msgspec Structs against json.loads, json.loads + dataclasses, pydantic v2."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pydantic

from hoverbentley.bentley.models import JobsPage
from hoverbentley.emulator.measurements import measurements_document
from hoverbentley.hover.client import JobRecord
from hoverbentley.hover.measurements import SummarizedMeasurements
from hoverbentley.hover.models import Job as HoverJob

DATA = Path(__file__).resolve().parent.parent / "hoverbentley" / "emulator" / "data"


# -- pydantic v2 models of the same fields as the Structs (the same typed result) -----------


class PJobOutput(pydantic.BaseModel):
    format: str
    id: str | None = None


class PJobSettings(pydantic.BaseModel):
    quality: str | None = None
    processingEngines: int | None = None
    outputs: list[PJobOutput] | None = None
    cacheSettings: dict[str, Any] | None = None


class PExec(pydantic.BaseModel):
    submittedDateTime: str | None = None
    startedDateTime: str | None = None
    endedDateTime: str | None = None
    estimatedUnits: float | None = None


class PInput(pydantic.BaseModel):
    id: str
    description: str | None = None


class PBentleyJob(pydantic.BaseModel):
    id: str
    name: str
    type: str
    state: str
    createdDateTime: str
    lastModifiedDateTime: str | None = None
    location: str | None = None
    iTwinId: str | None = None
    workspaceId: str | None = None
    email: str | None = None
    executionInformation: PExec | None = None
    inputs: list[PInput] | None = None
    jobSettings: PJobSettings | None = None
    costEstimationParameters: dict[str, Any] | None = None
    estimatedCost: float | None = None


class PBentleyPage(pydantic.BaseModel):
    jobs: list[PBentleyJob]
    links: dict[str, Any] | None = pydantic.Field(default=None, alias="_links")


class PAddress(pydantic.BaseModel):
    location_line_1: str | None = None
    location_line_2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    latitude: str | None = None
    longitude: str | None = None


class PCustomer(pydantic.BaseModel):
    first_name: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class PThreeDExperience(pydantic.BaseModel):
    type: str | None = None
    url: str | None = None
    status: str | None = None


class PMeasurements(pydantic.BaseModel):
    pdf: str | None = None
    json_: str | None = pydantic.Field(default=None, alias="json")
    summarized_json: str | None = None
    full_json: str | None = None
    xlsx: str | None = None


class PCadExports(pydantic.BaseModel):
    skp: str | None = None
    dwg: str | None = None
    dxf: str | None = None
    xml: str | None = None
    xml_v2: str | None = None
    xml_with_orientation: str | None = None
    threejs_jsonv3: str | None = None
    fml: str | None = None


class PArtifacts(pydantic.BaseModel):
    measurements: PMeasurements | None = None
    cad_exports: PCadExports | None = None


class PImage(pydantic.BaseModel):
    id: int
    url: str
    created_at: str | None = None


class PModel(pydantic.BaseModel):
    id: int
    name: str | None = None
    state: str | None = None
    deliverable: str | None = None
    capture_id: int | None = None
    three_d_experience: PThreeDExperience | None = None
    artifacts: PArtifacts | None = None
    images: list[PImage] | None = None
    failure_reason: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class PCapture(pydantic.BaseModel):
    id: int
    client_identifier: str | None = None
    name: str | None = None
    state: str | None = None
    capture_by: str | None = None
    type: str | None = None
    deliverable: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class PHoverJob(pydantic.BaseModel):
    id: int
    name: str | None = None
    reconstruction_state: str | None = None
    external_identifier: str | None = None
    address: PAddress | None = None
    customer: PCustomer | None = None
    captures: list[PCapture] | None = None
    models: list[PModel] = []
    created_at: str | None = None
    updated_at: str | None = None
    archived_at: str | None = None


class PRoofMeasure(pydantic.BaseModel):
    area: float | None = None
    total: int | float | None = None
    length: float | None = None


class PPitchArea(pydantic.BaseModel):
    roof_pitch: str | None = None
    area: float | None = None
    percentage: float | None = None


class PWasteFactor(pydantic.BaseModel):
    area: dict[str, float | None] | None = None


class PRoof(pydantic.BaseModel):
    roof_facets: PRoofMeasure | None = None
    ridges_hips: PRoofMeasure | None = None
    valleys: PRoofMeasure | None = None
    rakes: PRoofMeasure | None = None
    gutters_eaves: PRoofMeasure | None = None
    flashing: PRoofMeasure | None = None
    step_flashing: PRoofMeasure | None = None
    pitch: list[PPitchArea] | None = None
    waste_factor: PWasteFactor | None = None


class PSidingOther(pydantic.BaseModel):
    siding: float | None = None
    other: float | None = None


class PFacadeAreas(pydantic.BaseModel):
    facades: PSidingOther | None = None
    openings: PSidingOther | None = None
    unknown: PSidingOther | None = None
    total: PSidingOther | None = None


class POpenings(pydantic.BaseModel):
    quantity: PSidingOther | None = None
    tops_length: PSidingOther | None = None
    sills_length: PSidingOther | None = None
    sides_length: PSidingOther | None = None
    total_perimeter: PSidingOther | None = None


class PSummarized(pydantic.BaseModel):
    roof: PRoof | None = None
    area: PFacadeAreas | None = None
    openings: POpenings | None = None
    siding_waste: dict[str, float | None] | None = None


# -- dataclasses filled from json.loads ------------------------------------------------------


@dataclass
class DOutput:
    format: str
    id: str | None


@dataclass
class DBentleyJob:
    id: str
    name: str
    type: str
    state: str
    created: str
    itwin: str | None
    outputs: list[DOutput]


@dataclass
class DImage:
    id: int
    url: str


@dataclass
class DModel:
    id: int
    state: str | None
    artifacts: dict[str, dict[str, str]]
    images: list[DImage]


@dataclass
class DHoverJob:
    id: int
    name: str | None
    models: list[DModel]


def _outputs(job: dict[str, Any]) -> list[dict[str, Any]]:
    return (job.get("jobSettings") or {}).get("outputs") or []


def _bentley_dataclasses(body: bytes) -> list[DBentleyJob]:
    return [
        DBentleyJob(
            j["id"],
            j["name"],
            j["type"],
            j["state"],
            j["createdDateTime"],
            j.get("iTwinId"),
            [DOutput(o["format"], o.get("id")) for o in _outputs(j)],
        )
        for j in json.loads(body)["jobs"]
    ]


def _hover_dataclasses(body: bytes) -> DHoverJob:
    d = json.loads(body)
    return DHoverJob(
        d["id"],
        d.get("name"),
        [
            DModel(
                m["id"],
                m.get("state"),
                m.get("artifacts") or {},
                [DImage(i["id"], i["url"]) for i in m.get("images") or []],
            )
            for m in d.get("models") or []
        ],
    )


def bentley_page(count: int = 1000) -> bytes:
    """A jobs page of ``count`` jobs built from the seed job."""
    seed = json.loads((DATA / "bentley" / "jobs_page.json").read_text())
    job = seed["jobs"][0]
    jobs = [
        dict(job, id=str(uuid.UUID(int=n + 1)), name=f"{job['name']} {n}") for n in range(count)
    ]
    return json.dumps({"jobs": jobs, "_links": seed["_links"]}).encode()


def measurement_documents(count: int = 10_000) -> list[bytes]:
    """``count`` summarized measurement documents as the emulator serves them (a quarter
    with nulls, a quarter with unknown sections)."""
    documents = []
    for n in range(count):
        key = f"/api/v3/models/{n}/artifacts/measurements.json?version=summarized_json"
        body = measurements_document(key, 0, interior=False)
        assert body is not None
        documents.append(body)
    return documents


def _loops(fn: Callable[[], object], seconds: float) -> int:
    """Calls of ``fn`` that take about ``seconds``."""
    fn()
    loops = 1
    while True:
        started = time.perf_counter()
        for _ in range(loops):
            fn()
        if time.perf_counter() - started > seconds:
            return loops
        loops *= 2


def _interleaved(decoders: dict[str, Callable[[], object]], rounds: int = 9) -> dict[str, float]:
    """Median seconds per call of each decoder, timed in alternating batches of ~40 ms, so
    that a noisy neighbour slows every decoder alike."""
    loops = {name: _loops(fn, 0.04) for name, fn in decoders.items()}
    batches: dict[str, list[float]] = {name: [] for name in decoders}
    for _ in range(rounds):
        for name, fn in decoders.items():
            started = time.perf_counter()
            for _ in range(loops[name]):
                fn()
            batches[name].append((time.perf_counter() - started) / loops[name])
    return {name: sorted(times)[len(times) // 2] for name, times in batches.items()}


def run() -> dict[str, dict[str, float]]:
    """Seconds per decode, by payload and decoder."""
    hover = (DATA / "hover" / "hover_job_15084303.json").read_bytes()
    page = bentley_page()
    hover_decoder = msgspec.json.Decoder(HoverJob)
    page_decoder = msgspec.json.Decoder(JobsPage)
    documents = measurement_documents()
    summarized = msgspec.json.Decoder(SummarizedMeasurements)
    return {
        "Hover v3 job payload": _interleaved(
            {
                "msgspec Structs": lambda: hover_decoder.decode(hover),
                # What the archive does with each job record: the typed decode, then the
                # file list (which reads the raw artifact trees once more, alone).
                "msgspec Structs + JobRecord.files()": lambda: JobRecord(
                    hover_decoder.decode(hover), hover
                ).files(),
                "json.loads (dicts)": lambda: json.loads(hover),
                "json.loads + dataclasses": lambda: _hover_dataclasses(hover),
                "pydantic v2": lambda: PHoverJob.model_validate_json(hover),
            }
        ),
        "Bentley jobs page (1,000 jobs)": _interleaved(
            {
                "msgspec Structs": lambda: page_decoder.decode(page),
                "json.loads (dicts)": lambda: json.loads(page),
                "json.loads + dataclasses": lambda: _bentley_dataclasses(page),
                "pydantic v2": lambda: PBentleyPage.model_validate_json(page),
            },
            rounds=5,
        ),
        "10,000 summarized measurement documents": _interleaved(
            {
                "msgspec Structs": lambda: [summarized.decode(d) for d in documents],
                "json.loads (dicts)": lambda: [json.loads(d) for d in documents],
                "pydantic v2": lambda: [PSummarized.model_validate_json(d) for d in documents],
            },
            rounds=5,
        ),
    }


if __name__ == "__main__":
    # Run apart from the harness, whose heap would otherwise slow every garbage collection
    # the decoders trigger, by an amount that depends on what ran before.
    print(json.dumps(run()))
