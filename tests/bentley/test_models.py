"""Reality Modeling models: seed payloads round-trip, unknown values survive, both time forms."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import msgspec
import pytest

from hoverbentley.bentley import models as m
from tests.seeds import bentley_samples


def test_seed_jobs_page_round_trips_exactly() -> None:
    raw = bentley_samples()["200"]
    page = msgspec.json.decode(json.dumps(raw), type=m.JobsPage)
    assert json.loads(msgspec.json.encode(page)) == raw
    job = page.jobs[0]
    assert job.i_twin_id == "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    assert [o.format for o in job.outputs] == ["OBJ", "3MX"]
    assert job.execution_information is not None
    assert job.execution_information.estimated_units == 0.05
    assert page.next_link is not None and "continuationToken=" in page.next_link


@pytest.mark.parametrize("status", ["401", "404", "422", "429"])
def test_seed_error_bodies_decode(status: str) -> None:
    body = bentley_samples()[status]
    error = msgspec.json.decode(json.dumps(body), type=m.ErrorResponse)
    assert error.error.code == body["error"]["code"]
    assert json.loads(msgspec.json.encode(error)) == body


def test_unknown_enum_values_are_kept() -> None:
    body = {
        "id": "x",
        "name": "n",
        "type": "Segmentation3D",
        "state": "queued",
        "createdDateTime": "2025-01-01T00:00:00Z",
        "location": "Mars North",
        "jobSettings": {"outputs": [{"format": "Future Splats v9", "id": None}]},
    }
    job = msgspec.json.decode(json.dumps(body), type=m.Job)
    assert (job.type, job.state, job.location) == ("Segmentation3D", "queued", "Mars North")
    assert job.outputs[0].format == "Future Splats v9"
    assert job.type not in m.JOB_TYPES and "Cesium 3D Tiles" in m.OUTPUT_FORMATS


def test_both_timestamp_forms_parse_to_the_same_instant() -> None:
    short = m.parse_datetime("2020-09-14T14:29:55Z")
    long = m.parse_datetime("2020-09-14T14:29:55.0000000+00:00")
    assert short == long == datetime(2020, 9, 14, 14, 29, 55, tzinfo=timezone.utc)
    assert m.parse_datetime("2020-09-14T14:29:55.1234567+02:00") == datetime(
        2020, 9, 14, 12, 29, 55, 123456, tzinfo=timezone.utc
    )
    assert m.parse_datetime(None) is None


def test_missing_required_field_names_the_path() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\.jobs\[0\]"):
        msgspec.json.decode(b'{"jobs": [{"id": "x"}]}', type=m.JobsPage)
