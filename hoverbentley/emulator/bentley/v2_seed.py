"""The v2 seed jobs: several types and states, with fixed ids (their output ids follow from them).

Most live in the seed iTwin (``3fa85f64-...``) and belong to the configured user; one is in
the second iTwin and one belongs to a colleague, for filters. The ``Active`` and ``Queued``
ones move on with time like created jobs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ..bentley_catalog import timestamp
from .v2_create import job_outputs
from .v2_store import V2Job, V2Store, input_error, output_ids_of, processing_units


class SeedV2:
    """Ids of the v2 seed jobs."""

    #: Reconstruction, Success: modeling reference and exports 3DTiles and OBJ (reality data).
    RECONSTRUCTION = "7d3e5c1a-0b6f-4d2e-9a1c-3e5f7a9b1c01"
    #: Calibration, Success: scene (reality data) and ``report`` in the bucket; one warning.
    CALIBRATION = "7d3e5c1a-0b6f-4d2e-9a1c-3e5f7a9b1c02"
    #: Tiling, Failed, with an ``InputData_Invalid`` error.
    FAILED = "7d3e5c1a-0b6f-4d2e-9a1c-3e5f7a9b1c03"
    #: Production, Active from 40 %, moving on with time.
    ACTIVE = "7d3e5c1a-0b6f-4d2e-9a1c-3e5f7a9b1c04"
    #: GaussianSplats, Cancelled.
    CANCELLED = "7d3e5c1a-0b6f-4d2e-9a1c-3e5f7a9b1c05"
    #: ImportPointCloud, Queued at 0 %, moving on with time.
    QUEUED = "7d3e5c1a-0b6f-4d2e-9a1c-3e5f7a9b1c06"
    #: TouchUpImport, Success: ``importInfo``, a folder in the bucket.
    TOUCHUP_IMPORT = "7d3e5c1a-0b6f-4d2e-9a1c-3e5f7a9b1c07"
    #: FillImageProperties, Success, in the second iTwin.
    OTHER_ITWIN = "7d3e5c1a-0b6f-4d2e-9a1c-3e5f7a9b1c08"
    #: WaterConstraints, Success, a colleague's (``colleague@example.com``).
    COLLEAGUE = "7d3e5c1a-0b6f-4d2e-9a1c-3e5f7a9b1c09"
    #: Reality Analysis Objects2D, Success.
    OBJECTS2D = "5b2a9e7c-1d3f-4a6b-8c0e-2f4a6c8e0a01"
    #: Reality Analysis EvalO2D, Success: ``report`` in the bucket.
    EVAL_O2D = "5b2a9e7c-1d3f-4a6b-8c0e-2f4a6c8e0a02"
    #: Reality Analysis Segmentation3D, Active from 20 %.
    SEGMENTATION3D = "5b2a9e7c-1d3f-4a6b-8c0e-2f4a6c8e0a03"


SCENE = "e1b2c3d4-0000-4000-8000-00000000c0de"
REFERENCE = "e1b2c3d4-0000-4000-8000-00000000beef"
_START = datetime(2025, 3, 6, 9, 42, 33, tzinfo=timezone.utc)
_WARNING = {
    "code": "Calibration_FewTiePoints",
    "title": "Few tie points",
    "message": "Only %1 tie points were found in photo group %2.",
    "params": ["812", "1"],
}


def _job(
    store: V2Store,
    job_id: str,
    type_name: str,
    itwin: str,
    state: str,
    n: int,
    inputs: dict[str, Any],
    outputs: Any,
    *,
    percent: float = 100.0,
    email: str | None = None,
    name: str | None = None,
) -> V2Job:
    created = _START + timedelta(days=n)
    long_form = n % 2 == 0
    info: dict[str, Any] = {"createdDateTime": timestamp(created, long_form)}
    if state != "Queued":
        info["startedDateTime"] = timestamp(created + timedelta(minutes=2), long_form)
    if state in ("Success", "Failed", "Cancelled"):
        info["endedDateTime"] = timestamp(created + timedelta(hours=1), long_form)
        info["processingUnits"] = processing_units(job_id)
    job_type = store.types[type_name]
    wire: dict[str, Any] = {
        "id": job_id,
        "name": name or f"{type_name} of the survey",
        "type": type_name,
        "iTwinId": itwin,
        "state": state,
        "userId": store.config.v2_user_id,
        "executionInfo": info,
        "specifications": {
            "inputs": inputs,
            "outputs": job_outputs(job_type, outputs, job_id, output_ids_of(job_id)),
        },
    }
    moving = state in ("Queued", "Active")
    speed = store.config.v2_percent_per_second if moving else 0.0
    job = V2Job(wire, email or store.config.email, percent, store.clock(), speed)
    return store.add(job)


def seed_modeling(store: V2Store, itwins: list[str]) -> None:
    """Add the Reality Modeling v2 seed jobs (:class:`SeedV2`) to ``store``."""
    main, other = itwins[0], itwins[1 % len(itwins)]
    scene = {"scene": SCENE}
    exports = {"modelingReference": True, "exports": [{"format": "3DTiles"}, {"format": "OBJ"}]}
    _job(store, SeedV2.RECONSTRUCTION, "Reconstruction", main, "Success", 0, scene, exports)
    calibration = _job(
        store, SeedV2.CALIBRATION, "Calibration", main, "Success", 1, scene, ["scene", "report"]
    )
    calibration.messages["warnings"].append(_WARNING)
    failed = _job(
        store,
        SeedV2.FAILED,
        "Tiling",
        main,
        "Failed",
        2,
        scene,
        ["modelingReference"],
        percent=12.0,
    )
    failed.messages["errors"].append(input_error("Scene"))
    production = {"exports": [{"format": "OrthophotoDSM", "name": "Orthophoto of the site"}]}
    _job(
        store,
        SeedV2.ACTIVE,
        "Production",
        main,
        "Active",
        3,
        {"scene": SCENE, "modelingReference": REFERENCE},
        production,
        percent=40.0,
    )
    _job(
        store,
        SeedV2.CANCELLED,
        "GaussianSplats",
        main,
        "Cancelled",
        4,
        scene,
        ["splats"],
        percent=30.0,
    )
    _job(
        store,
        SeedV2.QUEUED,
        "ImportPointCloud",
        main,
        "Queued",
        5,
        scene,
        ["scanCollection", "scene"],
        percent=0.0,
    )
    _job(
        store,
        SeedV2.TOUCHUP_IMPORT,
        "TouchUpImport",
        main,
        "Success",
        6,
        {"modelingReference": REFERENCE, "touchUpData": SCENE},
        ["importInfo"],
    )
    _job(
        store,
        SeedV2.OTHER_ITWIN,
        "FillImageProperties",
        other,
        "Success",
        7,
        {"imageCollections": [SCENE]},
        ["scene"],
    )
    _job(
        store,
        SeedV2.COLLEAGUE,
        "WaterConstraints",
        main,
        "Success",
        8,
        {"scene": SCENE, "modelingReference": REFERENCE},
        ["constraints"],
        email="colleague@example.com",
    )


def seed_analysis(store: V2Store, itwins: list[str]) -> None:
    """Add the Reality Analysis v2 seed jobs (:class:`SeedV2`) to ``store``."""
    main = itwins[0]
    photos = {"photos": SCENE, "photoObjectDetector": "traffic-signs"}
    _job(
        store,
        SeedV2.OBJECTS2D,
        "Objects2D",
        main,
        "Success",
        0,
        photos,
        ["objects2D", "locations3DAsGeoJSON"],
    )
    _job(
        store,
        SeedV2.EVAL_O2D,
        "EvalO2D",
        main,
        "Success",
        1,
        {"reference": SCENE, "prediction": REFERENCE},
        ["report"],
    )
    _job(
        store,
        SeedV2.SEGMENTATION3D,
        "Segmentation3D",
        main,
        "Active",
        2,
        {"model3D": SCENE, "pointCloudSegmentationDetector": "bentley-rail-s3d/1.0"},
        ["segmentation3D"],
        percent=20.0,
    )


def add_held(store: V2Store, job_id: str, itwin: str, n: int) -> V2Job:
    """A new Reconstruction job (modeling reference, 3D Tiles and OBJ exports), ``Queued`` and
    held at 0 % until its progress is set (``V2Store.set_progress``)."""
    exports = {"modelingReference": True, "exports": [{"format": "3DTiles"}, {"format": "OBJ"}]}
    name = f"Reconstruction {n + 1}"
    job = _job(
        store,
        job_id,
        "Reconstruction",
        itwin,
        "Queued",
        n,
        {"scene": SCENE},
        exports,
        percent=0.0,
        name=name,
    )
    job.speed = 0.0
    return job
