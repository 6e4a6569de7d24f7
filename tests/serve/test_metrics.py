"""``/metrics`` after a run, read with prometheus-client's own parser: every metric the
service promises, with Prometheus names, labels and values that match what happened."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import SMALL_SIZES
from tests.serve.helpers import hover_body, hover_headers, running, settings

pytestmark = pytest.mark.anyio

EMULATOR = EmulatorConfig(jobs=4, include_seed_jobs=False, sizes=SMALL_SIZES)


def samples(text: str) -> Iterator[tuple[str, str, Sample]]:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            yield family.name, family.type, sample


async def test_metrics_count_what_the_service_did(emu: Emulator, tmp_path: Path) -> None:
    job_ids = emu.job_ids()[:3]
    async with running(emu, settings(tmp_path / "out", tmp_path / "state")) as svc:
        for job_id in job_ids:
            assert await svc.hover(hover_body(job_id)) == 202
        assert await svc.hover(hover_body(job_ids[0])) == 200  # a duplicate
        forged = hover_body(job_ids[1], "failed")
        assert await svc.hover(forged, hover_headers(forged, secret="x" * 40)) == 401
        stale = hover_body(job_ids[2], "failed")
        long_ago = datetime.now(timezone.utc) - timedelta(hours=1)
        assert await svc.hover(stale, hover_headers(stale, date=long_ago)) == 401
        await svc.service.settled()
        text = await svc.metrics()

    types: dict[str, str] = {}
    values: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family, kind, sample in samples(text):
        types[family] = kind
        values[sample.name, frozenset(sample.labels.items())] = sample.value

    def value(name: str, **labels: str) -> float:
        return values.get((name, frozenset(labels.items())), 0.0)

    prefix = "hoverbentley_serve_"
    assert {f: types.get(prefix + f) for f in ("events_received", "events_rejected")} == {
        "events_received": "counter",
        "events_rejected": "counter",
    }
    assert types[prefix + "queue_depth"] == "gauge"
    assert types[prefix + "event_to_archived_seconds"] == "histogram"
    assert value(prefix + "events_received_total", provider="hover") == 6
    assert value(prefix + "events_rejected_total", provider="hover", reason="duplicate") == 1
    assert value(prefix + "events_rejected_total", provider="hover", reason="signature") == 1
    assert value(prefix + "events_rejected_total", provider="hover", reason="stale") == 1
    assert value(prefix + "events_accepted_total", provider="hover") == 3
    assert value(prefix + "jobs_archived_total", provider="hover") == 3
    assert value(prefix + "jobs_failed_total", provider="hover") == 0
    expected = [f for j in job_ids for f in emu.expected_files(j)]
    assert value(prefix + "files_downloaded_total") == len(expected)
    assert value(prefix + "downloaded_bytes_total") == sum(f.size for f in expected)
    assert value(prefix + "queue_depth") == 0
    assert value(prefix + "queue_depth_max") >= 1
    assert value(prefix + "event_to_archived_seconds_count") == 3
    # Buckets from milliseconds to a day: a latency of hours still lands in a finite one.
    bounds = sorted(
        float(labels["le"])
        for (name, labels_set) in values
        if name == prefix + "event_to_archived_seconds_bucket"
        for labels in [dict(labels_set)]
        if labels["le"] != "+Inf"
    )
    assert bounds[0] <= 0.01 and bounds[-1] >= 24 * 3600
