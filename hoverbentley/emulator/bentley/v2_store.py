"""The jobs of one v2 API (Reality Modeling or Reality Analysis), moving on with time.

A job advances ``percent_per_second`` while it runs: ``Queued`` at 0 %, ``Active`` above,
``Success`` at 100 %. A job fed :attr:`~..config.BentleyConfig.v2_failing_input` stops at
half-way, ``TerminatingOnFailure`` then ``Failed``; a cancelled one goes ``TerminatingOnCancel``
then ``Cancelled``. Each terminating state lasts ``v2_terminate_seconds`` (0: until the next read).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..bentley_catalog import now_timestamp
from ..config import BentleyConfig
from .v2_create import is_guid, job_outputs
from .v2_types import JobType

FINAL = frozenset({"Success", "Failed", "Cancelled"})
TERMINATING = {"TerminatingOnCancel": "Cancelled", "TerminatingOnFailure": "Failed"}
FAIL_AT = 50.0
KiB = 1024
#: Reality data types of v2 outputs (exports by format, others by output name).
RD_TYPES = {
    "3DTiles": "Cesium3DTiles",
    "OBJ": "OBJ",
    "3MX": "3MX",
    "I3S": "SLPK",
    "OSGB": "OSGB",
    "LAS": "LAS",
    "PLY": "PLY",
    "OPC": "OPC",
    "OrthophotoDSM": "Orthophoto",
    "scene": "ContextScene",
    "modelingReference": "ModelingReference",
}


def input_error(name: str) -> dict[str, Any]:
    """The error of a job whose input ``name`` is unusable."""
    return {
        "code": "InputData_Invalid",
        "title": "Invalid input data",
        "message": 'Invalid input data. Please check the documentation. ("%1")',
        "params": [name],
    }


@dataclass
class V2Job:
    """A job as the service holds it: its wire form plus how it moves on."""

    wire: dict[str, Any]
    email: str
    percent: float
    since: float
    speed: float
    fail_at: float | None = None
    terminating_since: float | None = None
    messages: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"errors": [], "warnings": []}
    )
    #: Why it will fail (an error message), once it reaches :attr:`fail_at`.
    failure: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return str(self.wire["id"])

    @property
    def state(self) -> str:
        return str(self.wire["state"])

    def filter_view(self) -> dict[str, Any]:
        """The job as ``$filter`` sees it (``email`` and ``createdDateTime`` at top level)."""
        created = self.wire["executionInfo"]["createdDateTime"]
        return {**self.wire, "email": self.email, "createdDateTime": created}

    def locations(self) -> Iterator[tuple[str, str]]:
        """Every output as (name, location); exports are named by their format."""
        outputs = self.wire["specifications"].get("outputs") or {}
        for name, value in outputs.items():
            if name == "exports":
                for export in value:
                    yield export["format"], export["location"]
            elif isinstance(value, dict):
                yield name, value["location"]
            else:
                yield name, value


class V2Store:
    """The jobs of one v2 API, by id in creation order."""

    def __init__(
        self,
        api: str,
        types: dict[str, JobType],
        config: BentleyConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.types = types
        self.config = config
        self.clock = clock
        self.jobs: dict[str, V2Job] = {}
        #: Called with each job that reaches a final state (the webhook events hook on here).
        self.on_final: Callable[[V2Job], None] | None = None

    def add(self, job: V2Job) -> V2Job:
        """Hold ``job``."""
        self.jobs[job.id] = job
        return job

    def get(self, job_id: str) -> V2Job | None:
        """The job, brought up to date, or ``None``."""
        job = self.jobs.get(job_id) or self.jobs.get(job_id.lower())
        if job is not None:
            self.refresh(job)
        return job

    def all(self) -> list[V2Job]:
        """Every job, brought up to date."""
        for job in self.jobs.values():
            self.refresh(job)
        return list(self.jobs.values())

    def create(self, job_type: JobType, creation: dict[str, Any], job_id: str) -> V2Job:
        """A new job, started at once (``Queued``), its output locations filled in."""
        specs = creation["specifications"]
        outputs = job_outputs(job_type, specs["outputs"], job_id, output_ids_of(job_id))
        wire: dict[str, Any] = {
            "id": job_id,
            "type": job_type.name,
            "iTwinId": creation["iTwinId"].lower(),
            "state": "Queued",
            "userId": self.config.v2_user_id,
            "executionInfo": {"createdDateTime": now_timestamp()},
            "specifications": {**specs, "outputs": outputs},
        }
        if creation.get("name") is not None:
            wire["name"] = creation["name"]
        job = V2Job(wire, self.config.email, 0.0, self.clock(), self.config.v2_percent_per_second)
        bad = [k for k, v in specs["inputs"].items() if v == self.config.v2_failing_input]
        if bad:
            job.fail_at, job.failure = FAIL_AT, input_error(bad[0])
        return self.add(job)

    def refresh(self, job: V2Job) -> None:
        """Move ``job`` on to now (telling :attr:`on_final` when it ends)."""
        if job.state in FINAL:
            return
        self._advance(job)
        if job.state in FINAL and self.on_final is not None:
            self.on_final(job)

    def _advance(self, job: V2Job) -> None:
        state, now = job.state, self.clock()
        info = job.wire["executionInfo"]
        if state in TERMINATING:
            since = job.terminating_since or now
            if now > since and now - since >= self.config.v2_terminate_seconds:
                job.wire["state"] = TERMINATING[state]
                info["endedDateTime"] = now_timestamp()
            return
        percent = min(100.0, job.percent + job.speed * max(0.0, now - job.since))
        job.percent, job.since = percent, now
        if job.fail_at is not None and percent >= job.fail_at:
            job.percent = job.fail_at
            self._terminate(job, "TerminatingOnFailure")
            if job.failure is not None:
                job.messages["errors"].append(job.failure)
        elif percent >= 100:
            job.wire["state"] = "Success"
            info.setdefault("startedDateTime", now_timestamp())
            info["endedDateTime"] = now_timestamp()
            info["processingUnits"] = processing_units(job.id)
        elif percent > 0:
            job.wire["state"] = "Active"
            info.setdefault("startedDateTime", now_timestamp())

    def _terminate(self, job: V2Job, state: str) -> None:
        job.wire["state"] = state
        job.terminating_since = self.clock()

    def cancel(self, job: V2Job) -> str | None:
        """Start cancelling ``job``; or why not (the message of a 422 ``InvalidChange``)."""
        if job.state in FINAL or job.state in TERMINATING:
            return f"The job is {job.state}. Cancellation is not allowed."
        if job.percent >= self.config.v2_cancel_cutoff:
            return (
                "The job is about to complete. It is saving the data. Cancellation is not"
                " allowed during this period."
            )
        self._terminate(job, "TerminatingOnCancel")
        return None

    def set_progress(self, job: V2Job, percentage: float, speed: float | None = None) -> None:
        """Put ``job`` at ``percentage`` now (and change its speed); its state follows at
        the next read (a job past its failure point starts failing then)."""
        if speed is not None:
            job.speed = speed
        job.percent, job.since = float(percentage), self.clock()
        if job.state not in FINAL and job.state not in TERMINATING:
            job.wire["state"] = "Queued"

    # -- what the outputs are -------------------------------------------------------------

    def reality_data(self) -> dict[str, dict[str, Any]]:
        """One reality data per GUID output of a successful job, keyed by id."""
        out: dict[str, dict[str, Any]] = {}
        for job in self.all():
            if job.state != "Success":
                continue
            wire = job.wire
            when = (
                wire["executionInfo"].get("endedDateTime")
                or wire["executionInfo"]["createdDateTime"]
            )
            for name, location in job.locations():
                if is_guid(location):
                    out[location] = {
                        "id": location,
                        "displayName": f"{wire.get('name') or wire['type']} - {name}",
                        "type": RD_TYPES.get(name, name[:1].upper() + name[1:]),
                        "classification": "Model",
                        "size": 0,
                        "dataCenterLocation": "East US",
                        "createdDateTime": when,
                        "modifiedDateTime": when,
                        "authoring": False,
                        "iTwinId": wire["iTwinId"],
                    }
        return out

    def bucket_layout(self, itwin: str) -> list[tuple[str, int, int]]:
        """The blobs the successful jobs of ``itwin`` wrote to its bucket (name, size range)."""
        out: list[tuple[str, int, int]] = []
        for job in self.all():
            if job.state != "Success" or job.wire["iTwinId"] != itwin:
                continue
            kinds = self.types[job.wire["type"]].outputs if job.wire["type"] in self.types else {}
            for name, location in job.locations():
                if not isinstance(location, str) or not location.startswith("bkt:"):
                    continue
                path = location[4:]
                if kinds.get(name) == "bktdir":
                    out += [
                        (f"{path}/info.json", 200, 2 * KiB),
                        (f"{path}/tiles.json", KiB, 8 * KiB),
                    ]
                else:
                    out.append((path, 300, 6 * KiB))
        return out


def output_ids_of(job_id: str) -> Callable[[], str]:
    """Output ids derived from the job id (distinct, deterministic)."""
    counter = iter(range(1, 1000))

    def next_id() -> str:
        digest = hashlib.sha256(f"{job_id}:{next(counter)}".encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"

    return next_id


def processing_units(job_id: str) -> float:
    """What a finished job cost (deterministic per id)."""
    return round(int(hashlib.sha256(job_id.encode()).hexdigest()[:6], 16) % 5000 / 100 + 0.5, 2)
