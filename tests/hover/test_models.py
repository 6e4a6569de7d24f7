from __future__ import annotations

import json
from datetime import datetime, timezone

import msgspec
import pytest

from hoverbentley.hover.models import Job, JobListPage, parse_timestamp
from hoverbentley.hover.paging import list_params, next_page
from tests.seeds import hover_samples

SEEDS = [15084303, 15254733]


@pytest.mark.parametrize("name", SEEDS)
def test_seed_payload_round_trips_every_field(name: int) -> None:
    raw = json.dumps(hover_samples()[name]).encode()
    job = msgspec.json.decode(raw, type=Job)
    assert msgspec.json.decode(msgspec.json.encode(job)) == json.loads(raw)


def test_seed_exterior_job_fields() -> None:
    job = msgspec.json.decode(json.dumps(hover_samples()[SEEDS[0]]), type=Job)
    assert job.id == 15084303
    assert job.reconstruction_state == "completed"
    assert job.address is not None and job.address.latitude == "34.8784998"
    garage, house = job.models
    assert (garage.state, garage.is_complete) == ("failed", False)
    assert house.is_complete
    assert house.artifacts and house.artifacts.cad_exports
    assert house.artifacts.cad_exports.xml_v2 == (
        "https://hover.to/api/v3/models/15081683/artifacts/cad_export.xml?version=v2"
    )
    assert house.artifacts.measurements and house.artifacts.measurements.full_json is msgspec.UNSET
    assert len(house.images or []) == 10
    assert house.three_d_experience and house.three_d_experience.status == "ready"


def test_seed_interior_job_fields() -> None:
    job = msgspec.json.decode(json.dumps(hover_samples()[SEEDS[1]]), type=Job)
    assert job.captures and {c.type for c in job.captures} == {"roomplan_interior"}
    floor = job.models[0]
    assert floor.deliverable == "Interior Floor Plan"
    assert floor.artifacts and floor.artifacts.cad_exports
    assert floor.artifacts.cad_exports.fml.endswith("cad_export.fml")  # type: ignore[union-attr]


def test_unknown_fields_are_ignored_and_unknown_states_kept() -> None:
    raw = (
        b'{"id": 7, "reconstruction_state": "brand_new_state", "surprise": {"x": 1},'
        b' "models": [{"id": 8, "state": "queued_for_magic", "new_thing": []}]}'
    )
    job = msgspec.json.decode(raw, type=Job)
    assert job.reconstruction_state == "brand_new_state"
    assert job.models[0].state == "queued_for_magic"


def test_parse_timestamp() -> None:
    assert parse_timestamp("2025-03-16T23:55:50.094Z") == datetime(
        2025, 3, 16, 23, 55, 50, 94000, tzinfo=timezone.utc
    )
    assert parse_timestamp(None) is None


def _page(body: dict[str, object]) -> JobListPage:
    return msgspec.json.decode(json.dumps(body).encode(), type=JobListPage)


def test_next_page_v3_envelope() -> None:
    page = _page(
        {
            "pagination": {"current_page": 1, "total_pages": 3, "next_page": 2},
            "results": [{"id": 1}],
        }
    )
    assert next_page(page, 1, 25) == 2
    last = _page(
        {
            "pagination": {"current_page": 3, "total_pages": 3, "next_page": None},
            "results": [{"id": 1}],
        }
    )
    assert next_page(last, 3, 25) is None


def test_next_page_v2_envelope_uses_total_pages() -> None:
    page = _page(
        {"pagination": {"current_page": 2, "total_pages": 3}, "results": [{"id": 1}], "meta": {}}
    )
    assert next_page(page, 2, 25) == 3
    assert (
        next_page(
            _page({"pagination": {"current_page": 3, "total_pages": 3}, "results": [{"id": 1}]}),
            3,
            25,
        )
        is None
    )


def test_next_page_stops_on_empty_results_and_short_pages() -> None:
    assert next_page(_page({"pagination": {"next_page": 5}, "results": []}), 4, 25) is None
    assert next_page(_page({"results": [{"id": 1}]}), 1, 25) is None
    assert next_page(_page({"jobs": [{"id": i} for i in range(25)]}), 1, 25) == 2


def test_list_params() -> None:
    since = datetime(2025, 1, 1, tzinfo=timezone.utc)
    params = list_params(
        2,
        page_size=50,
        page_size_param="per_page",
        updated_since=since,
        archived=True,
        search="Meadow",
        states=["completed", "failed"],
    )
    assert params == [
        ("page", 2),
        ("per_page", 50),
        ("updated_since", 1735689600),
        ("archived", "true"),
        ("search", "Meadow"),
        ("reconstruction_states[]", "completed"),
        ("reconstruction_states[]", "failed"),
    ]
