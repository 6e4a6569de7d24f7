"""What the v2 services provide besides jobs: preset files, and Reality Analysis detectors."""

from __future__ import annotations

from typing import Any

FILES: list[dict[str, Any]] = [
    {
        "id": "Preset_DroneNadir",
        "name": "Drone nadir survey",
        "type": "Preset",
        "description": "Calibration settings for nadir drone flights.",
    },
    {
        "id": "Preset_Orthophoto",
        "name": "Orthophoto production",
        "type": "Preset",
        "description": "Tiling and export settings for orthophotos.",
    },
    {"id": "Preset_Legacy", "name": "Legacy defaults", "type": "Preset", "deprecated": True},
]

_CREATOR = "4f2d47ac-e318-46dc-ae53-06d71c9ff79e"


def _version(number: str, status: str, labels: list[str], exports: list[str]) -> dict[str, Any]:
    return {
        "creationDate": "2025-08-08T08:06:30.2466033+00:00",
        "versionNumber": number,
        "status": status,
        "creatorId": _CREATOR,
        "capabilities": {"labels": labels, "exports": exports},
    }


#: Detectors by name, each with its versions (the listing leaves the versions out).
_DETECTORS: list[dict[str, Any]] = [
    {
        "name": "@bentley/cracks-ortho",
        "displayName": "Cracks Ortho",
        "description": "Detects cracks in concrete infrastructure.",
        "type": "OrthophotoSegmentationDetector",
        "documentationUrl": "https://www.bentley.com",
        "latestVersionNumber": "1.0",
        "versions": [_version("1.0", "Ready", ["Cracks"], ["Polygons", "Lines"])],
    },
    {
        "name": "traffic-signs",
        "displayName": "Traffic signs detector",
        "description": "Detects all traffic signs within a scene.",
        "type": "PhotoObjectDetector",
        "documentationUrl": "https://www.example.com",
        "latestVersionNumber": "2.0",
        "versions": [
            _version("2.0", "Ready", ["Stop", "Yield"], ["Objects", "Locations"]),
            _version("1.0", "Ready", ["Stop"], ["Objects"]),
        ],
    },
    {
        "name": "bentley-rail-s3d",
        "displayName": "Rail point cloud segmentation",
        "description": "Segments rails, sleepers and poles in point clouds.",
        "type": "PointCloudSegmentationDetector",
        "versions": [_version("1.0", "AwaitingData", ["Rail", "Pole"], ["Objects"])],
    },
]
DETECTORS: dict[str, dict[str, Any]] = {d["name"]: d for d in _DETECTORS}
