"""Reality Modeling v2 and Reality Analysis v2 on the wire.

``/reality-modeling`` and ``/reality-analysis`` share one template: jobs with
``specifications`` keyed by name, progress, messages, the iTwin's bucket, files.
Enumerations stay ``str`` (the service is a preview and adds values); ``specifications`` are
kept whole as sent (a ``dict``), and read typed with :meth:`Job.typed_specifications` for the
job types this package knows (:mod:`hoverbentley.bentley.v2_specs`). Unknown fields and job
types decode without error; the raw body of a job is kept by
:meth:`~hoverbentley.bentley.v2.V2JobsApi.get_job_record`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from .._core.times import parse_iso
from ..redact import rich_repr_without
from .models import Paged, _Model
from .v2_specs import job_specifications

ACCEPT_V2 = "application/vnd.bentley.itwin-platform.v2+json"
FINAL_STATES = frozenset({"Success", "Failed", "Cancelled"})
JOB_STATES = (
    "Queued",
    "Active",
    "TerminatingOnCancel",
    "TerminatingOnFailure",
    "Cancelled",
    "Failed",
    "Success",
)


class ExecutionInfo(_Model):
    """When the job was created, started and ended, and what it cost."""

    created_date_time: str | None = None
    started_date_time: str | None = None
    ended_date_time: str | None = None
    processing_units: float | None = None

    @property
    def created(self) -> datetime | None:
        return parse_iso(self.created_date_time)

    @property
    def ended(self) -> datetime | None:
        return parse_iso(self.ended_date_time)


class Job(_Model):
    """A v2 job (Modeling or Analysis)."""

    id: str
    type: str
    state: str
    i_twin_id: str = msgspec.field(name="iTwinId")
    specifications: dict[str, Any] = msgspec.field(default_factory=dict)
    execution_info: ExecutionInfo | None = None
    user_id: str | None = None
    name: str | None = None

    @property
    def done(self) -> bool:
        """Whether the job reached a final state (Success, Failed or Cancelled)."""
        return self.state in FINAL_STATES

    def typed_specifications(self) -> Any:
        """The specifications as the Struct of this job type, or ``None`` for a type not known.

        Raises :class:`~hoverbentley.errors.DecodeError` if they do not match the type.
        """
        return job_specifications(self.type, self.specifications)

    def output_ids(self) -> dict[str, str]:
        """Every output of the job: its name (``exports/3DTiles`` for an export) → location.

        Locations are reality data ids, or ``bkt:<path>`` in the iTwin's bucket. Outputs
        without a location yet are left out.
        """
        outputs = self.specifications.get("outputs")
        found: dict[str, str] = {}
        if not isinstance(outputs, dict):
            return found
        for name, value in outputs.items():
            if name == "exports" and isinstance(value, list):
                for export in value:
                    if isinstance(export, dict) and isinstance(export.get("location"), str):
                        found[f"exports/{export.get('format') or 'export'}"] = export["location"]
            elif isinstance(value, str) and value:
                found[name] = value
            elif isinstance(value, dict) and isinstance(value.get("location"), str):
                found[name] = value["location"]
        return found


class JobResponse(_Model):
    job: Job


class JobCreation(_Model, forbid_unknown_fields=True):
    """``POST /jobs``: a job to create (and start)."""

    type: str
    i_twin_id: str = msgspec.field(name="iTwinId")
    specifications: dict[str, Any]
    name: str | None = None


class Progress(_Model):
    """How far a job is (0-100) and its state."""

    percentage: float
    state: str


class ProgressResponse(_Model):
    progress: Progress


class Message(_Model):
    """An error or warning of a job; ``message`` has ``%1``… placeholders filled by ``params``."""

    code: str | None = None
    title: str | None = None
    message: str | None = None
    params: list[str] = msgspec.field(default_factory=list)

    @property
    def text(self) -> str:
        """The message with its parameters filled in."""
        text = self.message or self.title or self.code or ""
        for index in range(len(self.params), 0, -1):
            text = text.replace(f"%{index}", self.params[index - 1])
        return text


class Messages(_Model):
    errors: list[Message] = msgspec.field(default_factory=list)
    warnings: list[Message] = msgspec.field(default_factory=list)


class MessagesResponse(_Model):
    messages: Messages


class JobsPage(Paged):
    """One page of ``GET /jobs``."""

    jobs: list[Job] = msgspec.field(default_factory=list)


class _Href(_Model):
    href: str | None = None


class _BucketLinks(_Model):
    container_url: _Href | None = None


class BucketInfo(_Model):
    i_twin_id: str | None = msgspec.field(default=None, name="iTwinId")


class BucketResponse(_Model):
    """The iTwin's bucket: a container SAS URL shared by the services."""

    bucket: BucketInfo
    links: _BucketLinks | None = msgspec.field(default=None, name="_links")

    @property
    def container_url(self) -> str | None:
        if self.links is None or self.links.container_url is None:
            return None
        return self.links.container_url.href

    __rich_repr__ = rich_repr_without("links")

    def __repr__(self) -> str:
        return f"BucketResponse(iTwinId={self.bucket.i_twin_id!r}, <SAS redacted>)"


class File(_Model):
    """A file the service provides (a preset)."""

    id: str
    name: str | None = None
    type: str | None = None
    description: str | None = None
    deprecated: bool | None = None


class FilesResponse(_Model):
    files: list[File] = msgspec.field(default_factory=list)


class Detector(_Model):
    """A Reality Analysis detector (its versions and labels kept as sent)."""

    name: str
    display_name: str | None = None
    description: str | None = None
    type: str | None = None
    documentation_url: str | None = None
    latest_version_number: str | None = None
    versions: list[dict[str, Any]] = msgspec.field(default_factory=list)


class DetectorsResponse(_Model):
    detectors: list[Detector] = msgspec.field(default_factory=list)


class DetectorResponse(_Model):
    detector: Detector
