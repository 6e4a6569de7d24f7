"""Properties of ``takeoff()`` over generated documents: what it must never do."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from hoverbentley.hover.measurements import SummarizedMeasurements, decode_measurements
from hoverbentley.hover.takeoff import takeoff

numbers = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=10**7),
    st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False),
)
# Sections a newer document might add, anywhere.
extras = st.dictionaries(
    st.sampled_from(["colour", "version", "solar", "notes"]),
    st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)),
    max_size=2,
)


def maybe(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A section that may be missing (``...``), null, or present."""
    return st.one_of(st.just(...), st.none(), inner)


def section(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda values, extra: {**extra, **{k: v for k, v in values.items() if v is not ...}},
        st.fixed_dictionaries({k: maybe(s) for k, s in fields.items()}),
        extras,
    )


measure = section({"area": numbers, "total": numbers, "length": numbers})
pitch = section({"roof_pitch": st.sampled_from(["4/12", "6/12", "8/12", "12/12"]), "area": numbers})
waste = st.dictionaries(
    st.sampled_from(["zero", "plus_5_percent", "plus_10_percent", "plus_20_percent", "other"]),
    numbers,
)
roof = section(
    {
        "roof_facets": measure,
        "ridges_hips": measure,
        "valleys": measure,
        "rakes": measure,
        "gutters_eaves": measure,
        "flashing": measure,
        "step_flashing": measure,
        "pitch": st.lists(pitch, max_size=6),
        "waste_factor": section({"area": waste}),
    }
)
pair = section({"siding": numbers, "other": numbers})
documents = section(
    {
        "roof": roof,
        "area": section({"facades": pair, "openings": pair, "unknown": pair, "total": pair}),
        "openings": section({"quantity": pair, "total_perimeter": pair}),
        "siding_waste": waste,
    }
)


def at(doc: Any, *path: str) -> Any:
    """The value at ``path``, or None where the path stops (missing or null)."""
    for key in path:
        if not isinstance(doc, dict) or doc.get(key) is None:
            return None
        doc = doc[key]
    return doc


@settings(max_examples=400, deadline=None)
@given(documents)
def test_never_crashes_never_invents_and_picks_a_listed_pitch(doc: dict[str, Any]) -> None:
    parsed = decode_measurements("summarized_json", msgspec.json.encode(doc), "generated")
    assert isinstance(parsed, SummarizedMeasurements)
    t = takeoff(parsed)

    facets = at(doc, "roof", "roof_facets", "area")
    if facets is None:
        assert t.roof_area_sqft is None and t.roof_squares is None
    else:
        assert t.roof_squares is not None and abs(t.roof_squares * 100 - facets) <= 1e-6 * facets
    for field, key in [
        ("ridges_hips_ft", "ridges_hips"),
        ("valleys_ft", "valleys"),
        ("rakes_ft", "rakes"),
        ("eaves_ft", "gutters_eaves"),
        ("flashing_ft", "flashing"),
        ("step_flashing_ft", "step_flashing"),
    ]:
        if at(doc, "roof", key, "length") is None:
            assert getattr(t, field) is None, field
    if (
        at(doc, "roof", "rakes", "length") is None
        or at(doc, "roof", "gutters_eaves", "length") is None
    ):
        assert t.drip_edge_ft is None
    if at(doc, "roof") is None:
        assert t.waste_factor_inputs is None and t.pitches == () and t.roof_waste == ()
    if at(doc, "roof", "waste_factor", "area") is None:
        assert t.roof_waste == ()
    if at(doc, "siding_waste") is None:
        assert t.siding_waste == ()
    if at(doc, "area", "total") is None:
        assert t.siding_total_sqft is None and t.other_total_sqft is None
    if at(doc, "openings", "quantity", "siding") is None:
        assert t.openings_count is None

    listed = [p for p in at(doc, "roof", "pitch") or [] if isinstance(p, dict)]
    with_area = [p for p in listed if p.get("area") is not None and p.get("roof_pitch")]
    if not with_area:
        assert t.predominant_pitch is None
    else:
        assert t.predominant_pitch in {p["roof_pitch"] for p in with_area}
        largest = max(p["area"] for p in with_area)
        assert any(
            p["roof_pitch"] == t.predominant_pitch and p["area"] == largest for p in with_area
        )
