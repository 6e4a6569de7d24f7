"""Typed models of Reality Modeling v1 (every schema of the official OpenAPI document).

camelCase on the wire, snake_case attributes. Enumerations are kept as ``str`` (the service
keeps adding output formats and states); the ``*_VALUES`` sets list the documented ones.
Absent optional keys decode to ``None`` and are left out again when encoding. Timestamps stay
strings as sent; :func:`parse_datetime` reads both forms the service uses.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import msgspec

from .._core.times import parse_iso
from ..errors import ConfigurationError

JOB_TYPES = frozenset({"Full", "Calibration", "Reconstruction"})
JOB_STATES = frozenset({"unsubmitted", "active", "success", "failed", "cancelled"})
PROGRESS_STATES = frozenset({"Unsubmitted", "Active", "Over"})
QUALITIES = frozenset({"Draft", "Medium", "Extra"})
LOCATIONS = frozenset(
    {
        "East US",
        "North Europe",
        "Southeast Asia",
        "Australia East",
        "UK South",
        "Japan East",
        "UAE North",
        "Canada Central",
        "West Europe",
    }
)
#: The states a v1 job does not leave.
FINAL_STATES = frozenset({"success", "failed", "cancelled"})
OUTPUT_FORMATS = frozenset(
    {
        "CCOrientations",
        "3MX",
        "3SM",
        "WebReady ScalableMesh",
        "Cesium 3D Tiles",
        "POD",
        "Orthophoto/DSM",
        "LAS",
        "FBX",
        "OBJ",
        "ESRI i3s",
        "DGN",
        "LODTreeExport",
        "PLY",
        "OPC",
        "OMR",
        "ContextScene",
        "GaussianSplats",
    }
)


def check_creation(job: JobCreation) -> None:
    """Raise :class:`~hoverbentley.errors.ConfigurationError` naming the first value of
    ``job`` the API refuses: a type, a quality or an output format outside its lists."""
    checks: list[tuple[str, str, Collection[str]]] = [
        ("type", job.type, JOB_TYPES),
        ("settings.quality", job.settings.quality, QUALITIES),
    ]
    checks += [
        (f"settings.outputs[{n}]", f, OUTPUT_FORMATS) for n, f in enumerate(job.settings.outputs)
    ]
    for where, value, allowed in checks:
        if value not in allowed:
            raise ConfigurationError(
                f"{where} {value!r} is not one the API takes: {', '.join(sorted(allowed))}"
            )


def parse_datetime(value: str | None) -> datetime | None:
    """A timezone-aware ``datetime`` from ``2020-09-14T14:29:55Z`` or
    ``2020-09-14T14:29:55.0000000+00:00`` (seven fraction digits); ``None`` stays ``None``."""
    return parse_iso(value)


class _Model(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True, gc=False):
    """Base: camelCase on the wire, ``None`` fields omitted when encoding."""


class CostEstimationParameters(_Model):
    giga_pixels: float | None = None
    mega_points: float | None = None
    mesh_quality: str | None = None


class EnginesLimit(_Model):
    max_engines: int | None = None


class EnginesLimitResponse(_Model):
    engines_limit: EnginesLimit


class WorkspaceCreation(_Model):
    name: str
    i_twin_id: str | None = msgspec.field(default=None, name="iTwinId")


class Workspace(_Model):
    id: str
    created_date_time: str
    name: str
    i_twin_id: str | None = msgspec.field(default=None, name="iTwinId")
    context_capture_version: str | None = None

    @property
    def created(self) -> datetime | None:
        return parse_datetime(self.created_date_time)


class WorkspaceResponse(_Model):
    workspace: Workspace


class JobInput(_Model):
    id: str
    description: str | None = None


class CacheSettings(_Model):
    create_cache: bool | None = None
    use_cache: str | None = None


class JobOutput(_Model):
    """An output format and, once produced, the reality data id holding it."""

    format: str
    id: str | None = None


class JobSettings(_Model):
    quality: str | None = None
    processing_engines: int | None = None
    outputs: list[JobOutput] | None = None
    cache_settings: CacheSettings | None = None


class JobCreateSettings(_Model):
    quality: str
    outputs: list[str]
    processing_engines: int | None = None
    cache_settings: CacheSettings | None = None


class JobPatchSettings(_Model):
    quality: str | None = None
    processing_engines: int | None = None
    outputs: list[str] | None = None
    cache_settings: CacheSettings | None = None


class JobCreation(_Model):
    type: str
    name: str
    workspace_id: str
    inputs: list[JobInput]
    settings: JobCreateSettings
    cost_estimation_parameters: CostEstimationParameters | None = None


class JobPatch(_Model):
    """A change to a job: ``state`` ``Active`` submits it, ``Cancelled`` cancels it."""

    state: str | None = None
    cost_estimation_parameters: CostEstimationParameters | None = None
    type: str | None = None
    settings: JobPatchSettings | None = None


class ErrorWarningMessage(_Model):
    code: str | None = None
    title: str | None = None
    message: str | None = None
    params: list[Any] | None = None


class ExecutionInformation(_Model):
    submitted_date_time: str | None = None
    started_date_time: str | None = None
    ended_date_time: str | None = None
    estimated_units: float | None = None
    errors: list[ErrorWarningMessage] | None = None
    warnings: list[ErrorWarningMessage] | None = None


class Job(_Model):
    """A Reality Modeling job."""

    id: str
    name: str
    type: str
    state: str
    created_date_time: str
    last_modified_date_time: str | None = None
    location: str | None = None
    i_twin_id: str | None = msgspec.field(default=None, name="iTwinId")
    workspace_id: str | None = None
    email: str | None = None
    execution_information: ExecutionInformation | None = None
    inputs: list[JobInput] | None = None
    job_settings: JobSettings | None = None
    cost_estimation_parameters: CostEstimationParameters | None = None
    estimated_cost: float | None = None

    @property
    def created(self) -> datetime | None:
        """``createdDateTime`` as a datetime."""
        return parse_datetime(self.created_date_time)

    @property
    def last_modified(self) -> datetime | None:
        """``lastModifiedDateTime`` as a datetime."""
        return parse_datetime(self.last_modified_date_time)

    @property
    def outputs(self) -> list[JobOutput]:
        """The job's outputs (empty when it has none)."""
        return list(self.job_settings.outputs or []) if self.job_settings else []


class JobResponse(_Model):
    job: Job


class JobProgress(_Model):
    percentage: float = 0
    state: str | None = None
    step: str | None = None


class JobProgressResponse(_Model):
    job_progress: JobProgress


class Link(_Model):
    href: str | None = None


class NextPageLink(_Model):
    next: Link | None = None


class Paged(_Model):
    """A page of a list: ``_links.next.href`` leads to the next one."""

    links: NextPageLink | None = msgspec.field(default=None, name="_links")

    @property
    def next_link(self) -> str | None:
        """The next page's URL, exactly as the service gave it, or ``None`` at the end."""
        if self.links is None or self.links.next is None:
            return None
        return self.links.next.href or None


class JobsPage(Paged):
    """One page of ``GET /jobs``."""

    jobs: list[Job] = msgspec.field(default_factory=list)


class ErrorDetail(_Model):
    code: str | None = None
    message: str | None = None
    target: str | None = None


class Error(_Model):
    code: str
    message: str
    target: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorResponse(_Model):
    """The ``{"error": {...}}`` body (``DetailedErrorResponse`` when ``details`` is present)."""

    error: Error


DetailedError = Error
DetailedErrorResponse = ErrorResponse
