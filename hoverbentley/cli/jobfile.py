"""A job to create, read from a JSON file and checked locally before anything is sent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

import msgspec

from ..bentley import models as v1
from ..bentley import v2_models as v2
from ..bentley.filters import F
from ..bentley.v2_specs import ANALYSIS_TYPES, MODELING_TYPES, check_creation, unknown_fields
from ..errors import ConfigurationError

Creation = v1.JobCreation | v2.JobCreation


def read_json(name: str) -> Any:
    """The JSON document in file ``name`` (``-``: standard input)."""
    where = "standard input" if name == "-" else name
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read job file {where}: {exc.strerror or exc}") from None
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise ConfigurationError(f"job file {where} is not JSON: {exc}") from None


def creation(
    document: Any, api: str, *, service: str = "modeling", where: str = "job file"
) -> Creation:
    """The job to create in ``api``'s wire format, or :class:`ConfigurationError` naming the
    field that is wrong (unknown fields included: both versions refuse them). A v2 job type
    of the other service (Modeling or Analysis) is refused too."""
    if not isinstance(document, dict):
        raise ConfigurationError(f"{where}: a job to create is a JSON object")
    struct: type[Creation] = v2.JobCreation if api == "v2" else v1.JobCreation
    unknown = unknown_fields(document, struct)
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown field {unknown[0]} (the service refuses it){_hint(document, api)}"
        )
    try:
        job = msgspec.convert(document, struct)
    except msgspec.ValidationError as exc:
        raise ConfigurationError(f"{where}: {exc}{_hint(document, api)}") from None
    if isinstance(job, v1.JobCreation):
        try:
            v1.check_creation(job)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}: {exc}") from None
    if isinstance(job, v2.JobCreation):
        try:
            F.itwin_id.normalize(job.i_twin_id)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}: {exc}") from None
        if service == "modeling" and job.type in ANALYSIS_TYPES:
            raise ConfigurationError(
                f"{where}: {job.type} is a Reality Analysis job: pass --service analysis"
            )
        if service == "analysis" and job.type in MODELING_TYPES:
            raise ConfigurationError(
                f"{where}: {job.type} is a Reality Modeling job, not one of Reality Analysis"
                " (drop --service analysis)"
            )
        try:
            check_creation(job.type, job.specifications, api=_service(service), name=job.name)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}: {exc}") from None
    return job


def _service(name: str) -> Literal["modeling", "analysis"]:
    return "analysis" if name == "analysis" else "modeling"


def _hint(document: dict[str, Any], api: str) -> str:
    """A word when the file looks written for the other API version."""
    if api == "v2" and {"workspaceId", "settings"} & document.keys():
        return "; this looks like a v1 job: drop --api v2 (v1 is the default)"
    if api == "v1" and "specifications" in document:
        return "; this looks like a v2 job: pass --api v2"
    return ""
