"""The v2 job types: their inputs, their outputs and where each output lands.

An output is a reality data (``rd``: a GUID served by Reality Management), a file in the
iTwin's bucket (``bkt``: ``bkt:<blob name>``), a folder there (``bktdir``: ``bkt:<prefix>``),
a modeling reference (``ref``: ``{"location": GUID}``) or a trained detector (``detector``).
Production and Reconstruction take ``{exports: [...]}`` instead of a list of names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["rd", "bkt", "bktdir", "ref", "detector"]
EXPORT_FORMATS = ("3DTiles", "OBJ", "3MX", "I3S", "OSGB", "LAS", "PLY", "OPC", "OrthophotoDSM")


@dataclass(frozen=True)
class JobType:
    """One job type: known and required inputs, and its outputs by name."""

    name: str
    inputs: frozenset[str]
    required: frozenset[str]
    outputs: Mapping[str, Kind] = field(default_factory=dict)
    #: ``exports`` (Production) or ``exports`` plus ``modelingReference`` (Reconstruction).
    exports: Literal["", "production", "reconstruction"] = ""

    def output_name(self, text: str) -> str | None:
        """The canonical (camelCase) name of an output, matched in any case."""
        for name in self.outputs:
            if name.lower() == text.lower():
                return name
        return None


def _type(
    name: str,
    inputs: str,
    required: str,
    outputs: Mapping[str, Kind],
    exports: Literal["", "production", "reconstruction"] = "",
) -> JobType:
    return JobType(name, frozenset(inputs.split()), frozenset(required.split()), outputs, exports)


def _rd(names: str) -> dict[str, Kind]:
    return {n: "rd" for n in names.split()}


MODELING: dict[str, JobType] = {
    t.name: t
    for t in (
        _type(
            "FillImageProperties",
            "imageCollections sceneToProcess sceneToComplete presets",
            "",
            _rd("scene"),
        ),
        _type("ImportPointCloud", "scene crsData", "scene", _rd("scanCollection scene")),
        _type(
            "Calibration",
            "scene presets crsData",
            "scene",
            {"scene": "rd", "report": "bkt", "texturedTiePoints": "rd"},
        ),
        _type(
            "Tiling",
            "scene regionOfInterest presets crsData",
            "scene",
            {"modelingReference": "ref"},
        ),
        _type(
            "Production",
            "scene modelingReference extent presets crsData",
            "scene modelingReference",
            {},
            "production",
        ),
        _type(
            "Reconstruction",
            "scene regionOfInterest extent modelingReference presets crsData",
            "scene",
            {"modelingReference": "ref"},
            "reconstruction",
        ),
        _type(
            "GaussianSplats",
            "scene splatsReference regionOfInterest crsData preset",
            "scene",
            _rd("splats splatsReference"),
        ),
        _type(
            "Constraints",
            "modelingReference constraintsToDelete constraintsToAdd crsData",
            "modelingReference",
            {"addedConstraintsInfo": "bkt"},
        ),
        _type(
            "WaterConstraints",
            "scene modelingReference crsData",
            "scene modelingReference",
            {"constraints": "bkt"},
        ),
        _type(
            "TouchUpExport",
            "modelingReference tilesToTouchUp",
            "modelingReference",
            _rd("touchUpData"),
        ),
        _type(
            "TouchUpImport",
            "modelingReference touchUpData",
            "modelingReference touchUpData",
            {"importInfo": "bktdir"},
        ),
    )
}

_OBJECTS3D = "objects3D objects3DAs3DTiles objects3DAsGeoJSON locations3DAsSHP locations3DAsGeoJSON"
_LINES_POLYGONS3D = (
    "lines3D lines3DAs3DTiles lines3DAsGeoJSON polygons3D polygons3DAs3DTiles polygons3DAsGeoJSON"
)
_EVAL = "prediction reference"

#: From Bentley's Reality Analysis v2 OpenAPI document (and TrainingS3D from the SDK).
ANALYSIS: dict[str, JobType] = {
    t.name: t
    for t in (
        _type(
            "Objects2D",
            "photos photoObjectDetector model3D objects2D",
            "photos",
            _rd(f"objects2D {_OBJECTS3D}"),
        ),
        _type(
            "Segmentation2D",
            "photos photoSegmentationDetector model3D segmentation2D",
            "photos",
            _rd(f"segmentation2D segmentedPhotos {_LINES_POLYGONS3D}"),
        ),
        _type(
            "Segmentation3D",
            "model3D pointCloudSegmentationDetector segmentation3D extent",
            "",
            _rd(
                "segmentation3D segmentedPointCloud segmentation3DAsPOD segmentation3DAsLAS"
                f" segmentation3DAsLAZ segmentation3DAsPLY {_OBJECTS3D} {_LINES_POLYGONS3D}"
            ),
        ),
        _type(
            "SegmentationOrthophoto",
            "orthophoto orthophotoSegmentationDetector",
            "orthophoto orthophotoSegmentationDetector",
            _rd(
                "segmentation2D segmentedPhotos polygons2D polygons2DAsSHP polygons2DAsGeoJSON"
                " lines2D lines2DAsSHP lines2DAsGeoJSON"
            ),
        ),
        _type(
            "ChangeDetection",
            "model3dA model3dB extent preset",
            "model3dA model3dB",
            _rd("objects3D locations3DAsSHP locations3DAsGeoJSON changesInModelA changesInModelB"),
        ),
        _type("EvalO2D", _EVAL, _EVAL, {"report": "bkt", "objects2D": "rd"}),
        _type("EvalO3D", _EVAL, _EVAL, {"report": "bkt", "objects3D": "rd"}),
        _type(
            "EvalS2D",
            _EVAL,
            _EVAL,
            {"report": "bkt", "segmentedPhotos": "rd", "segmentation2D": "rd"},
        ),
        _type(
            "EvalS3D",
            _EVAL,
            _EVAL,
            {"report": "bkt", "segmentedPointCloud": "rd", "segmentation3D": "rd"},
        ),
        _type(
            "EvalSOrtho",
            _EVAL,
            _EVAL,
            {"report": "bkt", "segmentedPhotos": "rd", "segmentation2D": "rd"},
        ),
        _type(
            "ClearanceCalculation",
            "clearanceFootprint model3D",
            "clearanceFootprint model3D",
            _rd("ovfPoints ovfLines ovfAreas"),
        ),
        _type(
            "TrainingS3D",
            "segmentations3D detectorName preset",
            "segmentations3D detectorName",
            {"detector": "detector"},
        ),
    )
}
