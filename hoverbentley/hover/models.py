"""Typed models of Hover's v3 job payloads (msgspec Structs).

Unknown fields are ignored; open-ended values (states, capture types, deliverables) stay ``str``.
Keys that only some payloads carry default to ``UNSET`` and are left out again when encoding,
so a payload survives a decode/encode round trip. Timestamps stay as the API sends them
(ISO-8601 strings); :func:`parse_timestamp` turns one into a ``datetime``.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from msgspec import UNSET, UnsetType

from .._core.times import parse_iso
from ..errors import ConfigurationError
from ..redact import rich_repr_without

OptStr = str | None | UnsetType


def parse_timestamp(value: str | UnsetType | None) -> datetime | None:
    """A timezone-aware ``datetime`` from an API timestamp, or ``None``."""
    return parse_iso(value) if isinstance(value, str) else None


class Address(msgspec.Struct, kw_only=True, gc=False):
    """A job's postal address; latitude and longitude are decimal strings."""

    location_line_1: str | None = None
    location_line_2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    latitude: str | None = None
    longitude: str | None = None


class Customer(msgspec.Struct, kw_only=True, gc=False):
    """The homeowner or customer attached to a job."""

    first_name: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class Capture(msgspec.Struct, kw_only=True, gc=False):
    """One capture session (a person photographing a structure or level)."""

    id: int
    client_identifier: str | None = None
    name: str | None = None
    state: str | None = None
    capture_by: str | None = None
    type: str | None = None
    deliverable: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ThreeDExperience(msgspec.Struct, kw_only=True, gc=False):
    """Link to the 3D viewer (design studio or virtual walkthrough) of a model."""

    type: str | None = None
    url: str | None = None
    status: str | None = None


class Measurements(msgspec.Struct, kw_only=True, gc=False):
    """Measurement report URLs; which keys exist depends on the deliverable.

    ``json`` and its ``version`` variants (``summarized_json``, ``full_json``, ``sketch_json``,
    ``roof_lines``, ``paint_measurements``) are JSON documents; see
    :meth:`~hoverbentley.hover.HoverClient.get_measurements`.
    """

    pdf: OptStr = UNSET
    json: OptStr = UNSET
    summarized_json: OptStr = UNSET
    full_json: OptStr = UNSET
    sketch_json: OptStr = UNSET
    roof_lines: OptStr = UNSET
    paint_measurements: OptStr = UNSET
    xlsx: OptStr = UNSET

    def links(self) -> dict[str, str]:
        """The artifact keys this model offers, with their URLs."""
        return {k: v for k, v in msgspec.structs.asdict(self).items() if isinstance(v, str)}


class CadExports(msgspec.Struct, kw_only=True, gc=False):
    """CAD export URLs; ``xml_v2`` and ``xml_with_orientation`` are version variants of ``xml``."""

    skp: OptStr = UNSET
    dwg: OptStr = UNSET
    dxf: OptStr = UNSET
    xml: OptStr = UNSET
    xml_v2: OptStr = UNSET
    xml_with_orientation: OptStr = UNSET
    threejs_jsonv3: OptStr = UNSET
    fml: OptStr = UNSET


class Artifacts(msgspec.Struct, kw_only=True, gc=False):
    """A model's deliverable files, grouped as in the payload."""

    measurements: Measurements | UnsetType | None = UNSET
    cad_exports: CadExports | UnsetType | None = UNSET


class Image(msgspec.Struct, kw_only=True, gc=False):
    """A photo taken during capture."""

    id: int
    url: str
    created_at: str | None = None


class Model(msgspec.Struct, kw_only=True, gc=False):
    """One structure (exterior) or level (interior) of a job, with its artifacts and images.

    ``state`` is ``complete`` when its files can be downloaded (``failed`` and ``uploading`` are
    seen too); a job can be ``completed`` while some of its models failed.
    """

    id: int
    name: str | None = None
    state: str | None = None
    deliverable: str | None = None
    capture_id: int | None = None
    three_d_experience: ThreeDExperience | UnsetType | None = UNSET
    artifacts: Artifacts | UnsetType | None = UNSET
    images: list[Image] | UnsetType = UNSET
    failure_reason: OptStr = UNSET
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def is_complete(self) -> bool:
        """Whether the model finished processing and its files can be fetched."""
        return self.state == "complete"


#: The largest Hover job id this package takes (ids are 64-bit signed integers).
LARGEST_JOB_ID = 2**63 - 1


def hover_id(value: object, what: str = "job id") -> int:
    """``value`` as a Hover id (of a job, a webhook): an ``int``, or a ``str`` of the digits
    0-9, from 1 to :data:`LARGEST_JOB_ID`; anything else (a float, a bool, ``"12x"``) is a
    :class:`~hoverbentley.errors.ConfigurationError` naming it, and nothing is sent."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        number = 0
    if not 1 <= number <= LARGEST_JOB_ID:
        shown = repr(value)
        if len(shown) > 40:
            shown = f"{shown[:30]}… ({len(str(value))} characters)"
        raise ConfigurationError(
            f"not a {what}: {shown} (Hover {what}s are whole numbers from 1 to {LARGEST_JOB_ID})"
        )
    return number


class Job(msgspec.Struct, kw_only=True, gc=False):
    """A Hover job (v3 job details): one property, one or more models."""

    id: int
    name: str | None = None
    reconstruction_state: str | None = None
    external_identifier: str | None = None
    address: Address | None = None
    customer: Customer | UnsetType | None = UNSET
    captures: list[Capture] | UnsetType = UNSET
    models: list[Model] = msgspec.field(default_factory=list)
    created_at: str | None = None
    updated_at: str | None = None
    archived_at: str | None = None


class JobSummary(msgspec.Struct, kw_only=True, gc=False):
    """A job as the job list returns it (no models)."""

    id: int
    name: str | None = None
    reconstruction_state: str | None = None
    external_identifier: str | None = None
    address: Address | None = None
    created_at: str | None = None
    updated_at: str | None = None
    archived_at: str | None = None


class Pagination(msgspec.Struct, kw_only=True, gc=False):
    """Page-number paging; v2 lists have no ``next_page``."""

    current_page: int | None = None
    total_pages: int | None = None
    total: int | None = None
    next_page: int | UnsetType | None = UNSET


class JobListPage(msgspec.Struct, kw_only=True, gc=False):
    """One page of the job list (both the v3 and the v2 envelope)."""

    pagination: Pagination | None = None
    results: list[JobSummary] | None = None
    jobs: list[JobSummary] | None = None

    @property
    def items(self) -> list[JobSummary]:
        """The jobs of this page, whichever key the envelope used."""
        return self.results if self.results is not None else (self.jobs or [])


class TokenResponse(msgspec.Struct, kw_only=True, gc=False):
    """The answer of ``POST /oauth/token``."""

    access_token: str
    token_type: str | None = None
    expires_in: float = 7200
    refresh_token: str | None = None
    scope: str | None = None
    created_at: float | None = None

    __rich_repr__ = rich_repr_without("access_token", "refresh_token")

    def __repr__(self) -> str:
        return f"TokenResponse(<redacted>, expires_in={self.expires_in})"
