"""From a measurement document to the figures an estimate is built from (pure, no I/O).

The rules, as integrators apply them:

- roof squares = the facets' area / 100 (a square is 100 square feet);
- the predominant pitch is the pitch with the largest area; a tie goes to the first in the
  document's order;
- the waste table, the pitch breakdown and every line length are the document's own figures;
- a sum (drip edge = rakes + eaves, openings = siding + other) is given only when every part
  of it is: a figure is never made up where the document has null.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import msgspec

from .measurements import (
    FullMeasurements,
    MeasurementsDocument,
    RoofMeasure,
    SidingOther,
    SummarizedMeasurements,
)

#: Square feet in a roofing square.
SQUARE_FEET_PER_SQUARE = 100
_WASTE_KEY = re.compile(r"^plus_(\d+(?:_\d+)?)_percent$")


class PitchShare(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the pitch breakdown, as the document gives it."""

    pitch: str
    area_sqft: float | None
    percentage: float | None


class WasteRow(msgspec.Struct, frozen=True, kw_only=True):
    """One row of a waste table: the area with ``percent`` waste added."""

    percent: float
    area_sqft: float | None
    squares: float | None


class WasteFactorInputs(msgspec.Struct, frozen=True, kw_only=True):
    """What Hover's "Recommended Roof Waste Factor" endpoint takes: four line lengths
    (linear feet) and the facets' area (square feet)."""

    step_flashing: float | None
    valleys: float | None
    ridges_hips: float | None
    rakes: float | None
    roof_facets_area: float | None

    @property
    def complete(self) -> bool:
        """Whether every input is known (the endpoint needs them all)."""
        return None not in (
            self.step_flashing,
            self.valleys,
            self.ridges_hips,
            self.rakes,
            self.roof_facets_area,
        )


class Takeoff(msgspec.Struct, frozen=True, kw_only=True):
    """The figures of one model. Areas in square feet, lengths in linear feet; ``None``
    where the document does not say."""

    roof_area_sqft: float | None = None
    roof_facets: float | None = None
    roof_squares: float | None = None
    predominant_pitch: str | None = None
    pitches: tuple[PitchShare, ...] = ()
    roof_waste: tuple[WasteRow, ...] = ()
    ridges_hips_ft: float | None = None
    valleys_ft: float | None = None
    rakes_ft: float | None = None
    eaves_ft: float | None = None
    #: Rakes plus eaves (drip edge).
    drip_edge_ft: float | None = None
    flashing_ft: float | None = None
    step_flashing_ft: float | None = None
    waste_factor_inputs: WasteFactorInputs | None = None
    #: Siding area of the facades, and of all facades, openings and unknown together.
    siding_facades_sqft: float | None = None
    siding_total_sqft: float | None = None
    #: Areas of other materials than siding (the document's total).
    other_total_sqft: float | None = None
    siding_waste: tuple[WasteRow, ...] = ()
    #: Openings (siding plus other).
    openings_count: float | None = None
    openings_area_sqft: float | None = None
    openings_perimeter_ft: float | None = None
    #: Windows listed in ``full_json``.
    windows: int | None = None


def _length(measure: RoofMeasure | None) -> float | None:
    return None if measure is None else measure.length


def _sum(*parts: float | None) -> float | None:
    """The sum, or ``None`` if any part is unknown (rounded to 6 decimals: the parts have a
    few, and binary fractions would add noise such as 548.3100000000001)."""
    known = [p for p in parts if p is not None]
    return round(sum(known), 6) if len(known) == len(parts) else None


def _both(pair: SidingOther | None) -> float | None:
    return None if pair is None else _sum(pair.siding, pair.other)


def _percent(key: str) -> float | None:
    if key == "zero":
        return 0.0
    match = _WASTE_KEY.match(key)
    return float(match.group(1).replace("_", ".")) if match else None


def waste_rows(table: Mapping[str, float | None] | None) -> tuple[WasteRow, ...]:
    """The rows of a waste table (``zero``, ``plus_N_percent``) by percentage; keys of
    another form are left out."""
    rows = []
    for key, area in (table or {}).items():
        percent = _percent(key)
        if percent is not None:
            squares = None if area is None else area / SQUARE_FEET_PER_SQUARE
            rows.append(WasteRow(percent=percent, area_sqft=area, squares=squares))
    return tuple(sorted(rows, key=lambda row: row.percent))


def predominant_pitch(pitches: Iterable[PitchShare]) -> str | None:
    """The pitch with the largest area; the first of equals in the given order; ``None``
    when no pitch has an area."""
    best: str | None = None
    largest: float | None = None
    for share in pitches:
        area = share.area_sqft
        if area is not None and (largest is None or area > largest):
            best, largest = share.pitch, area
    return best


def _summarized(doc: SummarizedMeasurements) -> Takeoff:
    roof = doc.roof
    facets = roof.roof_facets if roof else None
    area = facets.area if facets else None
    pitches = tuple(
        PitchShare(pitch=p.roof_pitch, area_sqft=p.area, percentage=p.percentage)
        for p in (roof.pitch if roof and roof.pitch else ())
        if p.roof_pitch is not None
    )
    rakes = _length(roof.rakes) if roof else None
    eaves = _length(roof.gutters_eaves) if roof else None
    inputs = (
        WasteFactorInputs(
            step_flashing=_length(roof.step_flashing),
            valleys=_length(roof.valleys),
            ridges_hips=_length(roof.ridges_hips),
            rakes=rakes,
            roof_facets_area=area,
        )
        if roof
        else None
    )
    areas = doc.area
    openings = doc.openings
    return Takeoff(
        roof_area_sqft=area,
        roof_facets=facets.total if facets else None,
        roof_squares=None if area is None else area / SQUARE_FEET_PER_SQUARE,
        predominant_pitch=predominant_pitch(pitches),
        pitches=pitches,
        roof_waste=waste_rows(roof.waste_factor.area if roof and roof.waste_factor else None),
        ridges_hips_ft=_length(roof.ridges_hips) if roof else None,
        valleys_ft=_length(roof.valleys) if roof else None,
        rakes_ft=rakes,
        eaves_ft=eaves,
        drip_edge_ft=_sum(rakes, eaves) if roof else None,
        flashing_ft=_length(roof.flashing) if roof else None,
        step_flashing_ft=_length(roof.step_flashing) if roof else None,
        waste_factor_inputs=inputs,
        siding_facades_sqft=areas.facades.siding if areas and areas.facades else None,
        siding_total_sqft=areas.total.siding if areas and areas.total else None,
        other_total_sqft=areas.total.other if areas and areas.total else None,
        siding_waste=waste_rows(doc.siding_waste),
        openings_count=_both(openings.quantity) if openings else None,
        openings_area_sqft=_both(areas.openings) if areas else None,
        openings_perimeter_ft=_both(openings.total_perimeter) if openings else None,
    )


def takeoff(measurements: MeasurementsDocument) -> Takeoff:
    """The figures of one measurement document (see the module's rules)."""
    if isinstance(measurements, FullMeasurements):
        windows = measurements.windows
        return Takeoff(windows=None if windows is None else len(windows))
    return _summarized(measurements)
