"""The specifications of each Reality Modeling v2 job type: inputs, outputs and options.

Every Struct tolerates fields it does not know (the API is a preview). Inputs are reality data
ids, or ``bkt:<path>`` in the iTwin's bucket. At creation most types list the names of the
outputs wanted; a job then maps each name to its location. Production and Reconstruction take
``exports`` (formats with options) instead.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from ..errors import ConfigurationError, DecodeError
from .models import _Model

#: The export formats of Production and Reconstruction.
EXPORT_FORMATS = ("3DTiles", "OBJ", "3MX", "I3S", "OSGB", "LAS", "PLY", "OPC", "OrthophotoDSM")

Outputs = list[str] | dict[str, Any]


class Point3D(_Model):
    x: float
    y: float
    z: float | None = None


class CalibrationOptions(_Model):
    rig_synchro: str | None = None
    rotation_policy: str | None = None
    center_policy: str | None = None
    center_tolerance: float | None = None
    focal_policy: str | None = None
    principal_policy: str | None = None
    radial_policy: str | None = None
    tangential_policy: str | None = None
    aspect_ratio_policy: str | None = None
    skew_policy: str | None = None
    fisheye_focal_policy: str | None = None
    fisheye_distortion_policy: str | None = None
    tiepoints_policy: str | None = None
    pair_selection: str | None = None
    pair_selection_distance: int | None = None
    keypoints_density: str | None = None
    precalibration: bool | None = None
    tags_extraction: list[str] | None = None
    color_equalization: str | None = None
    adjustment_constraints: list[str] | None = None
    rigid_registration_position: str | None = None
    rigid_registration_rotation: str | None = None
    rigid_registration_scale: str | None = None
    scene_output_crs: str | None = None


class TilingOptions(_Model):
    modeling_reference_type: str | None = None
    tiling_mode: str | None = None
    tiling_value: float | None = None
    tiling_origin: Point3D | None = None
    discard_empty_tiles: bool | None = None
    crs: str | None = None
    geometric_precision: str | None = None
    pair_selection: str | None = None
    photo_used_for_geometry: str | None = None
    hole_filling: str | None = None
    simplification: str | None = None
    planar_simplification_tolerance: float | None = None
    point_cloud_color_source: str | None = None
    color_correction: str | None = None
    untextured_representation: str | None = None
    untextured_color: str | None = None
    texture_source: str | None = None
    ortho_resolution: float | None = None
    geometry_resolution_limit: float | None = None
    texture_resolution_limit: float | None = None


class ExportOptions(_Model):
    """The options of one export; which apply depends on the format (see the API's reference)."""

    crs: str | None = None
    crs_origin: Point3D | None = None
    lod_scope: str | None = None
    lod_type: str | None = None
    compress: str | None = None
    maximum_texture_size: int | None = None
    texture_compression: int | None = None
    texture_sharpening: bool | None = None
    double_precision: bool | None = None
    generate_web_app: bool | None = None
    sampling_strategy: str | None = None
    sampling_distance: float | None = None
    merge_point_clouds: bool | None = None
    include_normals: bool | None = None
    texture_color_source: str | None = None
    texture_color_source_res_min: float | None = None
    texture_color_source_res_max: float | None = None
    texture_color_source_thermal_unit: str | None = None
    texture_color_source_thermal_min: float | None = None
    texture_color_source_thermal_max: float | None = None
    overviews: str | None = None
    projection_mode: str | None = None
    merge_parts: bool | None = None
    ortho_format: str | None = None
    no_data_color: str | None = None
    color_source: str | None = None
    dsm_format: str | None = None
    no_data_value: float | None = None
    no_data_transparency: bool | None = None


class Export(_Model):
    """An export: its format, options, the name of the reality data, and (in a job) where it is."""

    format: str
    options: ExportOptions | None = None
    name: str | None = None
    location: str | None = None


class Location(_Model):
    location: str | None = None


class ExportsOutputs(_Model):
    """The outputs of Production and Reconstruction."""

    exports: list[Export] | None = None
    modeling_reference: bool | Location | None = None


# -- inputs, per type -------------------------------------------------------------------------


class FillImagePropertiesInputs(_Model):
    image_collections: list[str] | None = None
    scene_to_process: str | None = None
    scene_to_complete: str | None = None
    presets: list[str] | None = None


class FillImagePropertiesOptions(_Model):
    recursive_image_collections: bool | None = None
    altitude_reference: str | None = None


class SceneInputs(_Model):
    """Inputs of ImportPointCloud and Calibration."""

    scene: str
    presets: list[str] | None = None
    crs_data: str | None = None


class TilingInputs(_Model):
    scene: str
    region_of_interest: str | None = None
    presets: list[str] | None = None
    crs_data: str | None = None


class ProductionInputs(_Model):
    scene: str
    modeling_reference: str
    extent: str | None = None
    presets: list[str] | None = None
    crs_data: str | None = None


class ReconstructionInputs(_Model):
    scene: str
    region_of_interest: str | None = None
    extent: str | None = None
    modeling_reference: str | None = None
    presets: list[str] | None = None
    crs_data: str | None = None


class GaussianSplatsInputs(_Model):
    scene: str
    splats_reference: str | None = None
    region_of_interest: str | None = None
    crs_data: str | None = None
    preset: str | None = None


class GaussianSplatsOptions(_Model):
    export_crs: str | None = None
    export_format: str | None = None
    reference_quality: str | None = None
    reference_tile_size: float | None = None


class ConstraintToAdd(_Model):
    constraint_path: str
    crs: str
    type: str | None = None
    resolution: float | None = None
    texture_path: str | None = None
    texture_size: float | None = None
    fill_color: str | None = None
    name: str | None = None
    description: str | None = None


class ConstraintsInputs(_Model):
    modeling_reference: str
    constraints_to_delete: list[str] | None = None
    constraints_to_add: list[ConstraintToAdd] | None = None
    crs_data: str | None = None


class WaterConstraintsInputs(_Model):
    scene: str
    modeling_reference: str
    crs_data: str | None = None


class WaterConstraintsOptions(_Model):
    force_horizontal: bool | None = None


class TouchUpExportInputs(_Model):
    modeling_reference: str
    tiles_to_touch_up: list[str] | None = None


class TouchUpExportOptions(_Model):
    level: str | None = None
    crs: str | None = None


class TouchUpImportInputs(_Model):
    modeling_reference: str
    touch_up_data: str


# -- specifications, per type -----------------------------------------------------------------


class FillImagePropertiesSpecifications(_Model):
    inputs: FillImagePropertiesInputs
    outputs: Outputs
    options: FillImagePropertiesOptions | None = None


class ImportPointCloudSpecifications(_Model):
    inputs: SceneInputs
    outputs: Outputs


class CalibrationSpecifications(_Model):
    inputs: SceneInputs
    outputs: Outputs
    options: CalibrationOptions | None = None


class TilingSpecifications(_Model):
    inputs: TilingInputs
    outputs: Outputs
    options: TilingOptions | None = None


class ProductionSpecifications(_Model):
    inputs: ProductionInputs
    outputs: ExportsOutputs


class ReconstructionSpecifications(_Model):
    inputs: ReconstructionInputs
    outputs: ExportsOutputs
    options: TilingOptions | None = None


class GaussianSplatsSpecifications(_Model):
    inputs: GaussianSplatsInputs
    outputs: Outputs
    options: GaussianSplatsOptions | None = None


class ConstraintsSpecifications(_Model):
    inputs: ConstraintsInputs
    outputs: Outputs


class WaterConstraintsSpecifications(_Model):
    inputs: WaterConstraintsInputs
    outputs: Outputs
    options: WaterConstraintsOptions | None = None


class TouchUpExportSpecifications(_Model):
    inputs: TouchUpExportInputs
    outputs: Outputs
    options: TouchUpExportOptions | None = None


class TouchUpImportSpecifications(_Model):
    inputs: TouchUpImportInputs
    outputs: Outputs


#: The Reality Modeling v2 job types and the Struct of their specifications.
MODELING_TYPES: dict[str, type[msgspec.Struct]] = {
    "FillImageProperties": FillImagePropertiesSpecifications,
    "ImportPointCloud": ImportPointCloudSpecifications,
    "Calibration": CalibrationSpecifications,
    "Tiling": TilingSpecifications,
    "Production": ProductionSpecifications,
    "Reconstruction": ReconstructionSpecifications,
    "GaussianSplats": GaussianSplatsSpecifications,
    "Constraints": ConstraintsSpecifications,
    "WaterConstraints": WaterConstraintsSpecifications,
    "TouchUpExport": TouchUpExportSpecifications,
    "TouchUpImport": TouchUpImportSpecifications,
}

#: The Reality Analysis v2 job types (their specifications are kept as sent).
ANALYSIS_TYPES = (
    "Objects2D",
    "Segmentation2D",
    "Segmentation3D",
    "SegmentationOrthophoto",
    "ChangeDetection",
    "EvalO2D",
    "EvalO3D",
    "EvalS2D",
    "EvalS3D",
    "EvalSOrtho",
    "TrainingS3D",
    "ClearanceCalculation",
)


def job_specifications(job_type: str, specifications: dict[str, Any]) -> Any:
    """``specifications`` as the Struct of ``job_type``, or ``None`` for a type not known."""
    struct = MODELING_TYPES.get(job_type)
    if struct is None:
        return None
    try:
        return msgspec.convert(specifications, struct)
    except msgspec.ValidationError as exc:
        raise DecodeError(f"{job_type} specifications: {exc}", url=None) from None


_NAME_FORBIDDEN = re.compile(r'["<>|:*?\\/\x00-\x1f\x7f]')


def check_job_name(name: str | None) -> None:
    """A v2 job name: 3 to 256 characters, none of ``" < > | : * ? \\ /`` or a control one."""
    if name is None:
        return
    if not 3 <= len(name) <= 256:
        raise ConfigurationError(f"a job name needs 3 to 256 characters, not {len(name)}")
    bad = _NAME_FORBIDDEN.search(name)
    if bad:
        raise ConfigurationError(f"a job name must not contain {bad.group()!r}: {name!r}")


def check_creation(
    job_type: str,
    specifications: Any,
    *,
    api: Literal["modeling", "analysis"] = "modeling",
    name: str | None = None,
) -> None:
    """Raise :class:`ConfigurationError` naming what is wrong with a job to create, locally.

    ``api`` says which service the job is for. Modeling types are checked against their
    Struct, unknown keys included (the service refuses extra properties); Analysis types
    only need ``inputs`` and ``outputs``.
    """
    if not isinstance(specifications, dict):
        raise ConfigurationError(f"{job_type}: specifications must be an object")
    check_job_name(name)
    known = tuple(MODELING_TYPES) if api == "modeling" else ANALYSIS_TYPES
    if job_type not in known:
        service = "Reality Modeling" if api == "modeling" else "Reality Analysis"
        raise ConfigurationError(
            f"unknown {service} job type {job_type!r} (known: {', '.join(known)})"
        )
    struct = MODELING_TYPES.get(job_type)
    if struct is None:
        missing = [k for k in ("inputs", "outputs") if k not in specifications]
        if missing:
            raise ConfigurationError(f"{job_type} specifications need {', '.join(missing)}")
        return
    try:
        msgspec.convert(specifications, struct)
    except msgspec.ValidationError as exc:
        raise ConfigurationError(f"{job_type} specifications: {exc}") from None
    outputs = specifications.get("outputs")
    exports = outputs.get("exports") if isinstance(outputs, dict) else None
    for n, export in enumerate(exports if isinstance(exports, list) else []):
        if export.get("format") not in EXPORT_FORMATS:
            raise ConfigurationError(
                f"{job_type} specifications: outputs.exports[{n}].format"
                f" {export.get('format')!r} is not one the API takes:"
                f" {', '.join(EXPORT_FORMATS)}"
            )
    unknown = unknown_fields(specifications, struct)
    if unknown:
        raise ConfigurationError(
            f"{job_type} specifications: unknown field {unknown[0]} (the service refuses it)"
        )


def unknown_fields(value: Any, struct: type[msgspec.Struct], path: str = "$") -> list[str]:
    """The JSON paths of the keys of ``value`` (wire form) that ``struct`` does not know."""
    if not isinstance(value, dict):
        return []
    fields = {f.encode_name: f for f in msgspec.structs.fields(struct)}
    found: list[str] = []
    for key, item in value.items():
        field = fields.get(key)
        if field is None:
            found.append(f"{path}.{key}")
            continue
        for inner in _structs_in(field.type):
            items = item if isinstance(item, list) else [item]
            for index, element in enumerate(items):
                where = f"{path}.{key}[{index}]" if isinstance(item, list) else f"{path}.{key}"
                found.extend(unknown_fields(element, inner, where))
    return found


def _structs_in(annotation: Any) -> list[type[msgspec.Struct]]:
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return [annotation]
    return [s for arg in getattr(annotation, "__args__", ()) for s in _structs_in(arg)]
