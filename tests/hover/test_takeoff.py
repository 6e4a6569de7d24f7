"""``takeoff()`` on fixed documents, the figures worked out by hand in each test.

The first document is Hover's public sample (facets, ridges/hips, pitches and the waste
table are the sample's; the other lines and the facades are this fixture's own numbers).
"""

from __future__ import annotations

import msgspec
import pytest

from hoverbentley.errors import DecodeError
from hoverbentley.hover.measurements import (
    FullMeasurements,
    SummarizedMeasurements,
    decode_measurements,
)
from hoverbentley.hover.takeoff import PitchShare, WasteRow, takeoff

SAMPLE = b"""{
  "roof": {
    "roof_facets": {"area": 3520, "total": 23, "length": null},
    "ridges_hips": {"area": null, "total": 21, "length": 250.25},
    "valleys": {"area": null, "total": 4, "length": 48.5},
    "rakes": {"area": null, "total": 10, "length": 182},
    "gutters_eaves": {"area": null, "total": 14, "length": 211.75},
    "flashing": {"area": null, "total": 3, "length": 22},
    "step_flashing": {"area": null, "total": 6, "length": 35.5},
    "pitch": [
      {"roof_pitch": "8/12", "area": 3185, "percentage": 90.48},
      {"roof_pitch": "6/12", "area": 320, "percentage": 9.09},
      {"roof_pitch": "12/12", "area": 15, "percentage": 0.43}
    ],
    "waste_factor": {"area": {"zero": 3520, "plus_5_percent": 3696, "plus_10_percent": 3872,
                              "plus_15_percent": 4048, "plus_20_percent": 4224}}
  },
  "area": {
    "facades": {"siding": 2150.5, "other": 110},
    "openings": {"siding": 310, "other": 12},
    "unknown": {"siding": 40, "other": 0},
    "total": {"siding": 2500.5, "other": 122}
  },
  "openings": {
    "quantity": {"siding": 18, "other": 2},
    "tops_length": {"siding": 60, "other": 6},
    "sills_length": {"siding": 48, "other": 0},
    "sides_length": {"siding": 150, "other": 14},
    "total_perimeter": {"siding": 258, "other": 20}
  },
  "siding_waste": {"zero": 2500.5, "plus_10_percent": 2750.55}
}"""


def summarized(body: bytes) -> SummarizedMeasurements:
    doc = decode_measurements("summarized_json", body, "sample.json")
    assert isinstance(doc, SummarizedMeasurements)
    return doc


def test_the_public_sample() -> None:
    t = takeoff(summarized(SAMPLE))
    assert t.roof_area_sqft == 3520 and t.roof_facets == 23
    assert t.roof_squares == 35.2
    assert t.predominant_pitch == "8/12"
    assert t.pitches == (
        PitchShare(pitch="8/12", area_sqft=3185, percentage=90.48),
        PitchShare(pitch="6/12", area_sqft=320, percentage=9.09),
        PitchShare(pitch="12/12", area_sqft=15, percentage=0.43),
    )
    assert [(w.percent, w.area_sqft) for w in t.roof_waste] == [
        (0, 3520),
        (5, 3696),
        (10, 3872),
        (15, 4048),
        (20, 4224),
    ]
    assert t.roof_waste[-1] == WasteRow(percent=20, area_sqft=4224, squares=42.24)
    assert (t.ridges_hips_ft, t.valleys_ft, t.rakes_ft, t.eaves_ft) == (250.25, 48.5, 182, 211.75)
    assert t.drip_edge_ft == 393.75  # 182 + 211.75
    assert (t.flashing_ft, t.step_flashing_ft) == (22, 35.5)
    inputs = t.waste_factor_inputs
    assert inputs is not None and inputs.complete
    assert msgspec.to_builtins(inputs) == {
        "step_flashing": 35.5,
        "valleys": 48.5,
        "ridges_hips": 250.25,
        "rakes": 182,
        "roof_facets_area": 3520,
    }
    assert (t.siding_facades_sqft, t.siding_total_sqft, t.other_total_sqft) == (2150.5, 2500.5, 122)
    assert t.openings_count == 20  # 18 + 2
    assert t.openings_area_sqft == 322  # 310 + 12
    assert t.openings_perimeter_ft == 278  # 258 + 20
    assert [(w.percent, w.area_sqft) for w in t.siding_waste] == [(0, 2500.5), (10, 2750.55)]
    assert t.windows is None


def test_a_tie_goes_to_the_first_pitch_in_the_document() -> None:
    body = b"""{"roof": {"roof_facets": {"area": 1250, "total": 6},
      "pitch": [{"roof_pitch": "4/12", "area": 250, "percentage": 20},
                {"roof_pitch": "9/12", "area": 500, "percentage": 40},
                {"roof_pitch": "7/12", "area": 500, "percentage": 40}]}}"""
    t = takeoff(summarized(body))
    assert t.predominant_pitch == "9/12"
    assert t.roof_squares == 12.5


def test_nulls_give_no_figure() -> None:
    body = b"""{"roof": {"roof_facets": {"area": null, "total": null, "length": null},
      "ridges_hips": null, "valleys": {"area": null, "total": 2, "length": null},
      "rakes": {"length": 90}, "gutters_eaves": null,
      "pitch": [{"roof_pitch": "5/12", "area": null, "percentage": null},
                {"roof_pitch": null, "area": 80, "percentage": 100}],
      "waste_factor": {"area": {"zero": null, "plus_10_percent": 1100}}},
      "area": null, "openings": {"quantity": {"siding": 4, "other": null}},
      "siding_waste": null}"""
    t = takeoff(summarized(body))
    assert t.roof_area_sqft is None and t.roof_squares is None and t.roof_facets is None
    # A pitch without an area cannot be the largest; one without a name is not a pitch.
    assert t.predominant_pitch is None
    assert t.pitches == (PitchShare(pitch="5/12", area_sqft=None, percentage=None),)
    assert t.roof_waste == (
        WasteRow(percent=0, area_sqft=None, squares=None),
        WasteRow(percent=10, area_sqft=1100, squares=11),
    )
    assert (t.ridges_hips_ft, t.valleys_ft, t.rakes_ft, t.eaves_ft) == (None, None, 90, None)
    assert t.drip_edge_ft is None  # the eaves are unknown
    assert t.waste_factor_inputs is not None and not t.waste_factor_inputs.complete
    assert t.openings_count is None  # "other" is unknown
    assert t.siding_total_sqft is None and t.openings_area_sqft is None
    assert t.siding_waste == ()


def test_an_empty_document_and_one_without_a_roof() -> None:
    empty = takeoff(summarized(b"{}"))
    assert empty == takeoff(SummarizedMeasurements())
    assert empty.waste_factor_inputs is None and empty.predominant_pitch is None
    facades = takeoff(summarized(b'{"area": {"total": {"siding": 900, "other": 50}}}'))
    assert (facades.siding_total_sqft, facades.other_total_sqft) == (900, 50)
    assert facades.roof_squares is None and facades.waste_factor_inputs is None


def test_unknown_sections_and_keys_are_read_past() -> None:
    body = b"""{"version": 7, "solar": {"panels": [1, 2]},
      "roof": {"roof_facets": {"area": 2000, "total": 9, "slope_factor": 1.2},
               "pitch": [{"roof_pitch": "10/12", "area": 2000, "percentage": 100,
                          "colour": "grey"}],
               "skylights": {"total": 2},
               "waste_factor": {"area": {"zero": 2000, "plus_12_5_percent": 2250,
                                         "plus_30_percent": 2600, "median": 2100}}}}"""
    t = takeoff(summarized(body))
    assert (t.roof_squares, t.predominant_pitch) == (20, "10/12")
    assert [(w.percent, w.area_sqft) for w in t.roof_waste] == [(0, 2000), (12.5, 2250), (30, 2600)]


def test_full_json_counts_its_windows() -> None:
    body = b"""{"windows": [{"label": "W-101", "width": 36}, {"label": "W-102"},
                            {"label": "W-201"}],
                "window_groups": [{"label": "WG-2"}, {"label": "WG-1"}], "facades": {}}"""
    doc = decode_measurements("full_json", body, "full.json")
    assert isinstance(doc, FullMeasurements)
    assert [w.label for w in doc.windows or []] == ["W-101", "W-102", "W-201"]
    assert [g.label for g in doc.window_groups or []] == ["WG-2", "WG-1"]
    t = takeoff(doc)
    assert t.windows == 3 and t.roof_squares is None and t.pitches == ()
    assert takeoff(FullMeasurements()).windows is None


@pytest.mark.parametrize(
    ("body", "path", "says"),
    [
        (b'{"roof": {"roof_facets": {"area": "big"}}}', "$.roof.roof_facets.area", "Expected"),
        (b'{"roof": {"pitch": {"roof_pitch": "8/12"}}}', "$.roof.pitch", "Expected `array"),
        (b'{"roof": ', "$", "not valid JSON"),
    ],
)
def test_a_document_that_does_not_parse_names_where(body: bytes, path: str, says: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_measurements("json", body, "hover/1/models/2/measurements/json.json")
    assert caught.value.path == (None if path == "$" else path)
    assert says in str(caught.value)
    assert "hover/1/models/2/measurements/json.json" in str(caught.value)
