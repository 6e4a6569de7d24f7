"""The emulator's Reality Modeling v1 jobs: the seed job plus deterministic ones per iTwin."""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any

from .config import BentleyConfig

SEED_ITWIN = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
JOB_TYPES = ("Full", "Full", "Reconstruction", "Calibration")
STATES = ("success", "success", "success", "failed", "active", "cancelled", "unsubmitted")
FORMATS = (
    "OBJ",
    "3MX",
    "Cesium 3D Tiles",
    "Orthophoto/DSM",
    "LAS",
    "ESRI i3s",
    "GaussianSplats",
    "Streamed Mesh (preview)",
)
NAMES = ("Bridge survey", "Quarry", "O'Brien site", "Façade scan", "Roof inspection", "Dam")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def timestamp(moment: datetime, long_form: bool) -> str:
    """Either form the service uses: ``...Z`` or seven fraction digits with ``+00:00``."""
    if long_form:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0+00:00"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def now_timestamp() -> str:
    """The current time in the short form."""
    return timestamp(datetime.now(timezone.utc), False)


class BentleyCatalog:
    """iTwins, their workspaces and jobs, generated from the config's seed."""

    def __init__(self, config: BentleyConfig) -> None:
        self.config = config
        rng = random.Random(config.seed)
        self.itwins: list[str] = [_uuid(rng) for _ in range(config.itwins)]
        self.jobs: dict[str, dict[str, Any]] = {}
        self.workspaces: dict[str, dict[str, Any]] = {}
        self.progress: dict[str, int] = {}
        if config.include_seed_job:
            self.itwins.insert(0, SEED_ITWIN)
            data = resources.files(__package__).joinpath("data/bentley/jobs_page.json")
            for job in json.loads(data.read_text(encoding="utf-8"))["jobs"]:
                self.jobs[job["id"]] = job
        start = datetime(2024, 1, 1, tzinfo=timezone.utc)
        for itwin in self.itwins:
            workspace = {
                "id": _uuid(rng),
                "createdDateTime": timestamp(start, False),
                "name": f"Workspace of {itwin[:8]}",
                "iTwinId": itwin,
                "contextCaptureVersion": "22.0",
            }
            self.workspaces[workspace["id"]] = workspace
            for n in range(config.jobs_per_itwin):
                created = start + timedelta(hours=rng.randint(0, 24 * 365), seconds=n)
                job = self._job(rng, itwin, workspace["id"], n, created)
                self.jobs[job["id"]] = job

    def _job(
        self, rng: random.Random, itwin: str, workspace: str, n: int, created: datetime
    ) -> dict[str, Any]:
        state = rng.choice(STATES)
        long_form = n % 2 == 1
        formats = rng.sample(FORMATS, rng.randint(1, 3))
        done = state == "success"
        job: dict[str, Any] = {
            "id": _uuid(rng),
            "name": f"{rng.choice(NAMES)} {n}",
            "type": rng.choice(JOB_TYPES),
            "state": state,
            "createdDateTime": timestamp(created, long_form),
            "lastModifiedDateTime": timestamp(created + timedelta(hours=2), long_form),
            "iTwinId": itwin,
            "location": rng.choice(("East US", "West Europe", "Southeast Asia")),
            "email": self.config.email if n % 3 else f"colleague{n}@example.com",
            "workspaceId": workspace,
            "inputs": [
                {"id": _uuid(rng), "description": d}
                for d in rng.sample(("Drone ImageCollection", "CCOrientations", "Scan"), 2)
            ],
            "jobSettings": {
                "quality": rng.choice(("Draft", "Medium", "Extra")),
                "outputs": [{"format": f, "id": _uuid(rng) if done else None} for f in formats],
                "processingEngines": rng.randint(0, 10),
                "cacheSettings": {"createCache": False},
            },
            "costEstimationParameters": {
                "gigaPixels": round(rng.uniform(0.5, 20), 2),
                "megaPoints": round(rng.uniform(0, 10), 2),
                "meshQuality": "Medium",
            },
            "estimatedCost": round(rng.uniform(1, 50), 2),
        }
        if state != "unsubmitted":
            info: dict[str, Any] = {
                "submittedDateTime": timestamp(created + timedelta(minutes=5), long_form),
                "estimatedUnits": round(rng.uniform(0.01, 5), 2),
            }
            if state in ("success", "failed", "cancelled"):
                info["startedDateTime"] = timestamp(created + timedelta(minutes=6), long_form)
                info["endedDateTime"] = timestamp(created + timedelta(hours=1), long_form)
            if state == "failed":
                info["errors"] = [
                    {
                        "code": "E001",
                        "title": "Aerotriangulation failed",
                        "message": "Too few tie points",
                        "params": [],
                    }
                ]
            job["executionInformation"] = info
        return job

    def new_id(self) -> str:
        """A fresh random id (for created jobs and workspaces)."""
        return str(uuid.uuid4())
