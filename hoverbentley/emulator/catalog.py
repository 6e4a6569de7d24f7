"""The emulator's Hover jobs: the two seed payloads plus deterministic generated ones."""

from __future__ import annotations

import copy
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from .config import EmulatorConfig
from .content import Content
from .measurements import measurements_document

#: The host the seed payloads name; replaced by the emulator's own address when served.
CANONICAL_HOST = "https://hover.to"
SEED_JOB_IDS = (15084303, 15254733)
FIRST_GENERATED_ID = 30_000_001
USER_PARAMS = ("current_user_email", "current_user_id")

EXTERIOR_MEASUREMENTS = {
    "pdf": "measurements.pdf",
    "json": "measurements.json",
    "summarized_json": "measurements.json?version=summarized_json",
    "full_json": "measurements.json?version=full_json",
    "xlsx": "measurements.xlsx",
}
EXTERIOR_CAD = {
    "skp": "cad_export.skp",
    "dwg": "cad_export.dwg",
    "dxf": "cad_export.dxf",
    "xml": "cad_export.xml",
    "xml_v2": "cad_export.xml?version=v2",
    "xml_with_orientation": "cad_export.xml?version=with_orientation",
    "threejs_jsonv3": "cad_export.json",
}
INTERIOR_MEASUREMENTS = {
    "pdf": "measurements.pdf",
    "json": "measurements.json",
    "full_json": "measurements.json?version=full_json",
}
INTERIOR_CAD = {"fml": "cad_export.fml"}
STREETS = ("Meadow Drive", "Oak Lane", "Harbor View", "Cedar Court", "Ridge Road", "Elm Street")
CITIES = (("Santa Maria", "CA"), ("Boulder", "CO"), ("Austin", "TX"), ("Portland", "OR"))


def file_key(url: str) -> str:
    """A file's identity: URL path plus the query minus the current-user parameters."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in USER_PARAMS]
    return parts.path + ("?" + urlencode(sorted(query)) if query else "")


@dataclass
class HoverFile:
    """A downloadable artifact or image."""

    key: str
    url: str
    category: str
    size: int
    listed_by: list[tuple[int, int, bool]] = field(default_factory=list)
    version: int = 0
    #: A ``measurements.json`` holds a measurement document (its own size, not ``size``);
    #: ``interior``: of a floor plan.
    document: bool = False
    interior: bool = False

    @property
    def file_id(self) -> str:
        """A stable id naming the file on the storage host."""
        return hashlib.blake2b(self.key.encode(), digest_size=10).hexdigest()

    @property
    def name(self) -> str:
        """The last path segment of the URL."""
        return urlsplit(self.key).path.rsplit("/", 1)[-1]

    @property
    def available(self) -> bool:
        """Files of a model that is not complete answer 404."""
        return any(complete for _, _, complete in self.listed_by)

    def content(self) -> Content:
        """The current body of the file."""
        key = f"{self.key}#{self.version}"
        if self.document:
            data = measurements_document(self.key, self.version, interior=self.interior)
            return Content(key, 0, data)
        return Content(key, self.size)

    @property
    def content_type(self) -> str:
        path = urlsplit(self.key).path
        ext = path.rsplit(".", 1)[-1]
        return {
            "pdf": "application/pdf",
            "json": "application/json",
            "jpg": "image/jpeg",
            "png": "image/png",
            "xml": "application/xml",
        }.get(ext, "application/octet-stream")


@dataclass
class HoverJob:
    id: int
    payload: dict[str, Any]
    updated: datetime
    archived: bool
    _rendered: dict[str, bytes] = field(default_factory=dict)

    def render(self, base_url: str) -> bytes:
        """The payload as JSON, with URLs on ``base_url``."""
        body = self._rendered.get(base_url)
        if body is None:
            text = json.dumps(self.payload, separators=(",", ":"), ensure_ascii=False)
            body = text.replace(CANONICAL_HOST, base_url).encode()
            self._rendered[base_url] = body
        return body

    def summary(self) -> dict[str, Any]:
        """The job as the job list shows it."""
        keys = ("id", "name", "reconstruction_state", "external_identifier", "address")
        out = {k: self.payload.get(k) for k in keys}
        for k in ("created_at", "updated_at", "archived_at"):
            out[k] = self.payload.get(k)
        return out


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class HoverCatalog:
    """Every job and file the emulator serves, built deterministically from the config."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.jobs: dict[int, HoverJob] = {}
        self.files: dict[str, HoverFile] = {}
        self.by_id: dict[str, HoverFile] = {}
        #: The final models of jobs still processing (see :meth:`add_processing`), by job id.
        self.processing: dict[int, list[dict[str, Any]]] = {}
        self._added = 0
        if config.include_seed_jobs:
            for job_id in SEED_JOB_IDS:
                self._add(self._seed(job_id), archived=False)
        for index in range(config.jobs):
            payload, archived = self._generate(index)
            self._add(payload, archived=archived)

    def add_processing(self, now: datetime) -> int:
        """A new generated job whose models are still processing (their files answer 404
        until :meth:`complete`); its id."""
        payload, _ = self._generate(self.config.jobs + self._added)
        self._added += 1
        stamp = _iso(now)
        payload.update(
            reconstruction_state="processing", archived_at=None, created_at=stamp, updated_at=stamp
        )
        final = payload["models"]
        payload["models"] = [
            {k: v for k, v in model.items() if k != "failure_reason"} | {"state": "processing"}
            for model in copy.deepcopy(final)
        ]
        self._add(payload, archived=False)
        self.processing[payload["id"]] = final
        return int(payload["id"])

    def complete(self, job_id: int, now: datetime) -> list[tuple[int, str]]:
        """Finish a processing job: its models take their final states (most ``complete``,
        some ``failed``), their files become available. The ``(model id, state)`` of each."""
        final = self.processing.pop(job_id)
        job = self.jobs[job_id]
        job.payload.update(models=final, reconstruction_state="completed", updated_at=_iso(now))
        job.updated = now
        job._rendered.clear()
        states = {model["id"]: model["state"] for model in final}
        for entry in self.files.values():
            entry.listed_by = [
                (owner, model_id, states[model_id] == "complete" if owner == job_id else done)
                for owner, model_id, done in entry.listed_by
            ]
        return list(states.items())

    def _seed(self, job_id: int) -> dict[str, Any]:
        data = resources.files(__package__).joinpath(f"data/hover/hover_job_{job_id}.json")
        payload: dict[str, Any] = json.loads(data.read_text(encoding="utf-8"))
        return payload

    def _add(self, payload: dict[str, Any], *, archived: bool) -> None:
        updated = datetime.fromisoformat(payload["updated_at"].replace("Z", "+00:00"))
        job = HoverJob(payload["id"], payload, updated, archived)
        self.jobs[job.id] = job
        for model in payload.get("models") or []:
            complete = model.get("state") == "complete"
            interior = "interior" in str(model.get("deliverable") or "").lower()
            for category, url in _model_urls(model):
                key = file_key(url)
                entry = self.files.get(key)
                if entry is None:
                    entry = HoverFile(key, url, category, self._size(key, category))
                    # An exact size asked for wins over the document.
                    entry.document = key not in self.config.size_overrides and (
                        measurements_document(key, 0, interior=interior) is not None
                    )
                    entry.interior = interior
                    self.files[key] = entry
                    self.by_id[entry.file_id] = entry
                entry.listed_by.append((job.id, model["id"], complete))

    def _size(self, key: str, category: str) -> int:
        override = self.config.size_overrides.get(key)
        if override is not None:
            return override
        low, high = self.config.sizes.get(category, (1024, 4096))
        return random.Random(f"size:{key}").randint(low, high)

    def _generate(self, index: int) -> tuple[dict[str, Any], bool]:
        rng = random.Random(self.config.seed * 1_000_003 + index)
        job_id = FIRST_GENERATED_ID + index
        created = datetime(2025, 1, 1, tzinfo=timezone.utc) + timedelta(hours=7 * index)
        updated = created + timedelta(hours=rng.randint(1, 72))
        interior = rng.random() < 0.3
        city, region = rng.choice(CITIES)
        captures: list[dict[str, Any]] = []
        models: list[dict[str, Any]] = []
        for n in range(rng.choice((1, 1, 2, 3))):
            capture_id = 700_000 + index * 10 + n
            model_id = 40_000_000 + index * 10 + n
            failed = n > 0 and rng.random() < 0.25
            deliverable = "Interior Floor Plan" if interior else "complete"
            captures.append(
                {
                    "id": capture_id,
                    "client_identifier": f"{rng.getrandbits(128):032x}",
                    "name": None if n == 0 else f"Structure {n + 1}",
                    "state": "completed",
                    "capture_by": "capture@example.com",
                    "type": "roomplan_interior" if interior else "sparse_exterior",
                    "deliverable": deliverable,
                    "created_at": _iso(created),
                    "updated_at": _iso(created + timedelta(minutes=2)),
                }
            )
            base = f"{CANONICAL_HOST}/api/v3/models/{model_id}/artifacts/"
            measurements = INTERIOR_MEASUREMENTS if interior else EXTERIOR_MEASUREMENTS
            cad = INTERIOR_CAD if interior else EXTERIOR_CAD
            model: dict[str, Any] = {
                "id": model_id,
                "name": "Main House" if n == 0 else f"Structure {n + 1}",
                "state": "failed" if failed else "complete",
                "deliverable": deliverable,
                "capture_id": capture_id,
                "three_d_experience": {
                    "type": "virtual_walkthrough" if interior else "design_studio",
                    "url": f"{CANONICAL_HOST}/design-studio/{job_id}/model/{model_id}",
                    "status": "not_available" if failed else "ready",
                },
                "artifacts": {
                    "measurements": {k: base + v for k, v in measurements.items()},
                    "cad_exports": {k: base + v for k, v in cad.items()},
                },
                "images": [
                    {
                        "id": model_id * 100 + i,
                        "url": f"{CANONICAL_HOST}/api/v2/images/{model_id * 100 + i}/image.jpg",
                        "created_at": _iso(created + timedelta(seconds=i)),
                    }
                    for i in range(rng.randint(2, 6))
                ],
                "created_at": _iso(created),
                "updated_at": _iso(updated),
            }
            if failed:
                model["failure_reason"] = "insufficient_image_coverage"
            models.append(model)
        archived = index % 10 == 9
        payload: dict[str, Any] = {
            "id": job_id,
            "name": f"{rng.randint(100, 9999)} {rng.choice(STREETS)}",
            "reconstruction_state": "completed",
            "external_identifier": str(rng.randint(10_000, 99_999)),
            "address": {
                "location_line_1": f"{rng.randint(100, 9999)} {rng.choice(STREETS)}",
                "location_line_2": "",
                "city": city,
                "region": region,
                "postal_code": f"{rng.randint(10_000, 99_999)}",
                "country": "US",
                "latitude": f"{rng.uniform(25, 48):.7f}",
                "longitude": f"{rng.uniform(-122, -70):.7f}",
            },
            "customer": {"first_name": None, "name": None, "email": None, "phone": None},
            "captures": captures,
            "models": models,
            "created_at": _iso(created),
            "updated_at": _iso(updated),
            "archived_at": _iso(updated + timedelta(days=1)) if archived else None,
        }
        return payload, archived

    def listed(
        self,
        *,
        archived: bool,
        updated_since: float | None,
        search: str | None,
        states: list[str],
    ) -> list[HoverJob]:
        """The jobs the job list shows for these filters, oldest id first."""
        jobs = sorted(self.jobs.values(), key=lambda j: j.id)
        out = []
        for job in jobs:
            if job.archived and not archived:
                continue
            if updated_since is not None and job.updated.timestamp() < updated_since:
                continue
            if search and search.lower() not in json.dumps(job.summary()).lower():
                continue
            if states and job.payload.get("reconstruction_state") not in states:
                continue
            out.append(job)
        return out

    def files_of(self, job_id: int | None = None) -> Iterator[tuple[int, int, HoverFile]]:
        """``(job id, model id, file)`` for every available file, of one job or all."""
        for entry in self.files.values():
            for owner, model_id, complete in entry.listed_by:
                if complete and (job_id is None or owner == job_id):
                    yield owner, model_id, entry


def _model_urls(model: dict[str, Any]) -> Iterator[tuple[str, str]]:
    def walk(node: object, category: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, str) and node.startswith(CANONICAL_HOST):
            yield category, node
        elif isinstance(node, dict):
            for value in node.values():
                yield from walk(value, category)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value, category)

    for category, node in (model.get("artifacts") or {}).items():
        yield from walk(node, category)
    for image in model.get("images") or []:
        if isinstance(image.get("url"), str):
            yield "image", image["url"]
