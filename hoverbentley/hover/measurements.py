"""Typed Hover measurement documents (``measurements.json`` and its ``version`` variants).

Lenient as the job models: every field may be missing or null, unknown fields and sections
are ignored (the raw bytes keep them), and a document of a newer version still decodes.
Units: areas in square feet (``sqft``), lengths in linear feet (``ft``), counts as numbers.

- :class:`SummarizedMeasurements`: the summarized exterior document (``summarized_json``;
  the default ``json`` of exterior deliverables has the same shape).
- :class:`FullMeasurements`: the public parts of ``full_json`` (windows, window groups).
"""

from __future__ import annotations

from typing import Union

import msgspec

from .._core.decode import decode_json

#: A number of the document: integer or decimal, or null.
Number = float | None
#: A count (pieces, openings): an integer in practice, a decimal accepted.
Count = int | float | None
#: A waste table: ``zero``, ``plus_5_percent``, ``plus_10_percent``, … to the area (square
#: feet) with that much waste added. Kept as a mapping so that percentages a document adds
#: later are read too.
WasteTable = dict[str, Number]


class RoofMeasure(msgspec.Struct, kw_only=True, gc=False):
    """One roof category: facets carry ``area``, lines carry ``length``; ``total`` counts
    the pieces."""

    #: Square feet (facets; null for lines).
    area: Number = None
    #: How many facets or line pieces.
    total: Count = None
    #: Linear feet (lines; null for facets).
    length: Number = None


class PitchArea(msgspec.Struct, kw_only=True, gc=False):
    """The roof area at one pitch (``"8/12"``) and its share of the facets' area."""

    roof_pitch: str | None = None
    #: Square feet.
    area: Number = None
    #: Percent of the facets' area (0-100).
    percentage: Number = None


class WasteFactor(msgspec.Struct, kw_only=True, gc=False):
    """The roof's waste table."""

    area: WasteTable | None = None


class Roof(msgspec.Struct, kw_only=True, gc=False):
    """The roof section: facets, lines, pitches and waste."""

    roof_facets: RoofMeasure | None = None
    ridges_hips: RoofMeasure | None = None
    valleys: RoofMeasure | None = None
    rakes: RoofMeasure | None = None
    gutters_eaves: RoofMeasure | None = None
    flashing: RoofMeasure | None = None
    step_flashing: RoofMeasure | None = None
    pitch: list[PitchArea] | None = None
    waste_factor: WasteFactor | None = None


class SidingOther(msgspec.Struct, kw_only=True, gc=False):
    """A figure split into siding and other materials (units as the field that holds it)."""

    siding: Number = None
    other: Number = None


class FacadeAreas(msgspec.Struct, kw_only=True, gc=False):
    """Facade areas in square feet, each split into siding and other."""

    facades: SidingOther | None = None
    openings: SidingOther | None = None
    unknown: SidingOther | None = None
    total: SidingOther | None = None


class Openings(msgspec.Struct, kw_only=True, gc=False):
    """Openings (windows, doors) in the facades: a count, and lengths in linear feet."""

    quantity: SidingOther | None = None
    tops_length: SidingOther | None = None
    sills_length: SidingOther | None = None
    sides_length: SidingOther | None = None
    total_perimeter: SidingOther | None = None


class SummarizedMeasurements(msgspec.Struct, kw_only=True, gc=False):
    """The summarized exterior measurements of one model (``summarized_json``, ``json``)."""

    roof: Roof | None = None
    #: Facade areas (square feet).
    area: FacadeAreas | None = None
    openings: Openings | None = None
    #: The siding's waste table (square feet).
    siding_waste: WasteTable | None = None


class Window(msgspec.Struct, kw_only=True, gc=False):
    """A window of ``full_json``, labelled by level (``W-101`` is on the first)."""

    label: str | None = None


class WindowGroup(msgspec.Struct, kw_only=True, gc=False):
    """A group of windows of ``full_json`` (``WG-1``…; listed in no guaranteed order)."""

    label: str | None = None


class FullMeasurements(msgspec.Struct, kw_only=True, gc=False):
    """The public parts of ``full_json``: windows and window groups."""

    windows: list[Window] | None = None
    window_groups: list[WindowGroup] | None = None


#: Any measurement document this package reads.
MeasurementsDocument = Union[SummarizedMeasurements, FullMeasurements]  # noqa: UP007 - a runtime alias

_SUMMARIZED = msgspec.json.Decoder(SummarizedMeasurements)
_FULL = msgspec.json.Decoder(FullMeasurements)
#: The artifact keys of ``artifacts.measurements`` whose documents this package reads, and
#: the type each is read into.
DOCUMENT_TYPES: dict[str, type[SummarizedMeasurements] | type[FullMeasurements]] = {
    "json": SummarizedMeasurements,
    "summarized_json": SummarizedMeasurements,
    "full_json": FullMeasurements,
}
DOCUMENT_KINDS = tuple(DOCUMENT_TYPES)


def decode_measurements(kind: str, body: bytes, where: str = "") -> MeasurementsDocument:
    """Decode the ``kind`` document (one of :data:`DOCUMENT_KINDS`) in ``body``.

    Raises :class:`~hoverbentley.errors.DecodeError` naming ``where`` (a URL or a path) and the
    JSON path of the first problem, and :class:`KeyError` for another kind.
    """
    if DOCUMENT_TYPES[kind] is FullMeasurements:
        return decode_json(_FULL, body, where)
    return decode_json(_SUMMARIZED, body, where)
