"""The service in process, over the emulator: events archived, deliveries refused, the bound."""

from __future__ import annotations

import errno
import json
import logging
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.emulator.faults import Fault
from hoverbentley.serve.app import SERVICE, ServeSettings, create_app
from hoverbentley.serve.archiver import SourceFactory
from hoverbentley.serve.journal import JOURNAL_NAME, Event, JobKey, Journal
from hoverbentley.serve.statedir import StateDirLock
from tests.archive.helpers import FAST_HTTP, SMALL_SIZES, assert_complete, disk_files, read_manifest
from tests.serve.helpers import (
    BENTLEY_SECRET,
    HOVER_SECRET,
    PUBLIC_PATH,
    bentley_body,
    bentley_headers,
    hover_body,
    hover_headers,
    metric,
    post,
    running,
    settings,
)
from tests.support import hover_client, serve

pytestmark = pytest.mark.anyio

EMULATOR = EmulatorConfig(jobs=20, include_seed_jobs=False, sizes=SMALL_SIZES)


def record_fetches(emu: Emulator) -> Counter[str]:
    """How many times each Hover job's record was fetched (once per archive of the job)."""
    return Counter(
        r.path.rsplit("/", 1)[-1]
        for r in emu.requests
        if r.target == "hover" and r.path.startswith("/api/v3/jobs/") and r.method == "GET"
    )


def success_v1_jobs(emu: Emulator, count: int) -> list[dict[str, object]]:
    jobs = [j for j in emu.bentley_jobs() if j["state"] == "success"]
    return sorted(jobs, key=lambda j: sum(1 for o in j["jobSettings"]["outputs"] if o["id"]))[
        :count
    ]


async def test_events_of_several_jobs_are_archived_once_each(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    hover_ids = emu.job_ids()[:4]
    async with running(emu, settings(out, tmp_path / "state")) as svc:
        # A job not complete yet is noted, and archived only when its completing event comes.
        assert await svc.hover(hover_body(hover_ids[0], "processing")) == 202
        # A model that is complete says nothing of the job's other models: noted too.
        model = hover_body(hover_ids[0], "complete", event="model-state-changed", model_id=7)
        assert await svc.hover(model) == 202
        await svc.service.settled()
        assert metric(await svc.metrics(), "hoverbentley_serve_queue_depth_max") == 0
        assert not (out / "hover" / str(hover_ids[0])).exists()
        for job_id in hover_ids:
            body = hover_body(job_id)
            assert await svc.hover(body) == 202
            assert await svc.hover(body) == 200  # the provider's retry: not queued again
        await svc.service.settled()
        text = await svc.metrics()

    expected = [f for j in hover_ids for f in emu.expected_files(j)]
    assert_complete(out, emu, hover_ids, expected=expected)
    assert record_fetches(emu) == {str(j): 1 for j in hover_ids}
    assert metric(text, "hoverbentley_serve_jobs_archived_total", provider="hover") == 4
    duplicates = metric(
        text, "hoverbentley_serve_events_rejected_total", provider="hover", reason="duplicate"
    )
    assert duplicates == 4
    assert metric(text, "hoverbentley_serve_event_to_archived_seconds_count") == 4
    assert metric(text, "hoverbentley_serve_files_downloaded_total") == len(expected)


async def test_bentley_events_archive_every_output_blob(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    jobs = success_v1_jobs(emu, 2)
    async with running(emu, settings(out, tmp_path / "state")) as svc:
        for job in jobs:
            assert await svc.bentley(bentley_body(str(job["id"]))) == 202
        await svc.service.settled()
    expected = {
        b.sha256
        for job in jobs
        for o in job["jobSettings"]["outputs"]
        if o["id"]
        for b in emu.expected_blobs(o["id"])
    }
    on_disk = disk_files(out)
    blobs = [p for p in on_disk if p.startswith("bentley/") and not p.endswith("job.json")]
    assert expected and {on_disk[p] for p in blobs} == expected
    manifest = {e["path"]: e["sha256"] for e in read_manifest(out)}
    assert all(manifest[p] == on_disk[p] for p in blobs)
    for job in jobs:
        record = json.loads((out / "bentley" / str(job["id"]) / "job.json").read_bytes())
        assert record["job"]["id"] == job["id"]


def _stale(body: bytes) -> dict[str, str]:
    return hover_headers(body, date=datetime.now(timezone.utc) - timedelta(minutes=30))


def _forged(body: bytes) -> dict[str, str]:
    headers = hover_headers(body)
    scheme, _, credentials = headers["Authorization"].partition(" ")
    headers["Authorization"] = f"{scheme} {credentials.split(':')[0]}:AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    return headers


REFUSED = {
    "forged signature": ("hover", hover_body(5), _forged, 401),
    "body changed after signing": (
        "hover",
        hover_body(5),
        lambda b: hover_headers(hover_body(6)),
        401,
    ),
    "stale Date": ("hover", hover_body(5), _stale, 401),
    "another webhook's secret": (
        "hover",
        hover_body(5),
        lambda b: hover_headers(b, secret="another-webhooks-secret-000000000000"),
        401,
    ),
    "the private path signed": (
        "hover",
        hover_body(5),
        lambda b: hover_headers(b, uri="/hooks/hover"),
        401,
    ),
    "Bentley forged": (
        "bentley",
        bentley_body("a1b2"),
        lambda b: bentley_headers(b, secret="x" * 40),
        401,
    ),
    "Bentley body changed": (
        "bentley",
        bentley_body("a1b2"),
        lambda b: bentley_headers(bentley_body("c3d4")),
        401,
    ),
    "Bentley enqueued two days ago (replayed)": (
        "bentley",
        bentley_body("a1b2", enqueued="11/3/2023 8:07:01 PM"),
        bentley_headers,
        401,
    ),
    "Bentley enqueued two days ahead": (
        "bentley",
        bentley_body("a1b2", enqueued=(datetime.now(timezone.utc) + timedelta(days=2)).isoformat()),
        bentley_headers,
        401,
    ),
    "Bentley without enqueuedDateTime": (
        "bentley",
        bentley_body("a1b2").replace(b'"enqueuedDateTime"', b'"enqueuedTime"'),
        bentley_headers,
        401,
    ),
    "oversize body": ("hover", hover_body(5, padding="x" * (1024 * 1024)), hover_headers, 413),
    "malformed": ("hover", b'{"event": "job-state-changed", "job_id": "five"}', hover_headers, 400),
    "not JSON": ("bentley", b"<xml/>", bentley_headers, 400),
    "nested too deeply": ("hover", b"[" * 100_000 + b"]" * 100_000, hover_headers, 400),
    "unknown event type": ("hover", b'{"event": "proposal-accepted", "id": 3}', hover_headers, 202),
    "Bentley unknown type": (
        "bentley",
        bentley_body("a1b2").replace(
            b"realityModeling.jobCompleted.v1", b"iModels.changesetPushed.v1"
        ),
        bentley_headers,
        202,
    ),
    "job id ../../x": ("bentley", bentley_body("../../x"), bentley_headers, 400),
    "job id /etc": ("bentley", bentley_body("/etc"), bentley_headers, 400),
    "job id with NUL": ("bentley", bentley_body("abc\x00def"), bentley_headers, 400),
    "job id very long": ("bentley", bentley_body("a" * 5000), bentley_headers, 400),
    "Hover job id 0": ("hover", hover_body(0), hover_headers, 400),
}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_a_refused_delivery_queues_and_archives_nothing(
    emu: Emulator, tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    provider, body, sign, status = REFUSED[case]
    out = tmp_path / "out"
    caplog.set_level(logging.DEBUG)
    async with running(emu, settings(out, tmp_path / "state")) as svc:
        send = svc.hover if provider == "hover" else svc.bentley
        assert await send(body, sign(body)) == status
        await svc.service.settled()
        text = await svc.metrics()
    assert metric(text, "hoverbentley_serve_queue_depth_max") == 0
    assert (tmp_path / "state" / JOURNAL_NAME).read_bytes() == b""
    assert not out.exists() or not any(out.iterdir())
    assert not [r for r in emu.requests if r.target != "tokens"]
    reason = "ignored" if status == 202 else None
    if reason:
        assert (
            metric(
                text, "hoverbentley_serve_events_rejected_total", provider=provider, reason=reason
            )
            == 1
        )
    logged = caplog.text
    assert HOVER_SECRET not in logged and BENTLEY_SECRET not in logged
    assert "another-webhooks-secret" not in logged
    assert f"{provider} delivery refused ({status})" in logged or status == 202


async def test_a_bentley_retry_enqueued_an_hour_ago_is_taken(emu: Emulator, tmp_path: Path) -> None:
    job_id = str(success_v1_jobs(emu, 1)[0]["id"])
    hour_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%m/%d/%Y %I:%M:%S %p")
    async with running(emu, settings(tmp_path / "out", tmp_path / "state")) as svc:
        assert await svc.bentley(bentley_body(job_id, enqueued=hour_ago)) == 202
        await svc.service.settled()
    assert (tmp_path / "out" / "bentley" / job_id / "job.json").exists()


async def test_a_duplicate_delivery_is_answered_and_not_queued_again(
    emu: Emulator, tmp_path: Path
) -> None:
    job_id = str(success_v1_jobs(emu, 1)[0]["id"])
    body = bentley_body(job_id, message_id="m-1")
    again = bentley_body(job_id, message_id="m-1")  # a retry may carry the same id
    async with running(emu, settings(tmp_path / "out", tmp_path / "state")) as svc:
        assert await svc.bentley(body) == 202
        await svc.service.settled()
        assert await svc.bentley(again) == 200
        await svc.service.settled()
        assert svc.service.archiver.runs == 1
    lines = (tmp_path / "state" / JOURNAL_NAME).read_bytes().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["event", "finished"]


async def test_a_hover_retry_re_signed_with_a_later_date_is_a_duplicate(
    emu: Emulator, tmp_path: Path
) -> None:
    """A Hover event without an ``id`` is known by its body: each attempt is signed with its
    own ``Date`` (a later attempt must be, to pass the 5-minute window), and is the same
    delivery all the same."""
    job_id = emu.job_ids()[0]
    body = hover_body(job_id)
    first = datetime.now(timezone.utc) - timedelta(minutes=4)
    later = datetime.now(timezone.utc)
    async with running(emu, settings(tmp_path / "out", tmp_path / "state")) as svc:
        assert await svc.hover(body, hover_headers(body, date=first)) == 202
        await svc.service.settled()
        assert await svc.hover(body, hover_headers(body, date=later)) == 200
        await svc.service.settled()
        assert svc.service.archiver.runs == 1
    assert record_fetches(emu) == {str(job_id): 1}


class Gate:
    """Sources whose first archive waits until :meth:`open` (the archiver is then busy)."""

    def __init__(self, inner: SourceFactory) -> None:
        self.inner = inner
        self.opened = anyio.Event()

    def factory(self, ids: list[str]) -> HoverSource:
        source = self.inner(ids)
        assert isinstance(source, HoverSource)
        listed = source.job_ids
        gate = self.opened

        async def job_ids() -> AsyncIterator[str]:
            await gate.wait()
            async for job_id in listed():
                yield job_id

        source.job_ids = job_ids  # type: ignore[method-assign]
        return source


async def test_a_burst_over_the_bound_is_refused_with_retry_after_and_each_job_archived_once(
    emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    job_ids = emu.job_ids()[:20]
    bound = 5
    async with hover_client(emu) as client:
        gate = Gate(lambda ids: HoverSource(client, job_ids=[int(i) for i in ids]))
        config = settings(out, tmp_path / "state", queue_size=bound, retry_after=7)
        async with running(emu, config, sources={"hover": gate.factory}) as svc:
            # 1,000 deliveries: 50 of each job's event (duplicates), interleaved.
            bodies = [hover_body(j) for j in job_ids]
            statuses: dict[int, list[int]] = {j: [] for j in job_ids}
            retry_after: set[str] = set()
            for _ in range(50):
                for job_id, body in zip(job_ids, bodies, strict=True):
                    status, headers = await post(
                        svc.session, f"{svc.url}/hooks/hover", body, hover_headers(body)
                    )
                    statuses[job_id].append(status)
                    if status == 503:
                        retry_after.add(headers.get("Retry-After", ""))
            refused = [j for j in job_ids if 202 not in statuses[j]]
            # The archiver holds one job; the queue holds at most the bound; the rest waits.
            assert len(refused) == len(job_ids) - bound - 1
            assert retry_after == {"7"}
            assert float(metric(await svc.metrics(), "hoverbentley_serve_queue_depth_max")) == bound
            gate.opened.set()
            while refused:  # the providers' retries, until every event is in
                await svc.service.settled()
                again = []
                for job_id in refused:
                    status = await svc.hover(hover_body(job_id))
                    assert status in (202, 503)
                    if status == 503:
                        again.append(job_id)
                refused = again
            await svc.service.settled()
            text = await svc.metrics()
    assert metric(text, "hoverbentley_serve_queue_depth_max") == bound
    assert record_fetches(emu) == {str(j): 1 for j in job_ids}
    assert_complete(out, emu, job_ids, expected=[f for j in job_ids for f in emu.expected_files(j)])


class FullDisk(Journal):
    """A journal on a device that is full while :attr:`full` is set."""

    full = False

    def _write(self, fd: int, line: bytes) -> None:
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        super()._write(fd, line)


async def test_a_full_journal_disk_answers_503_and_acknowledges_nothing(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = FullDisk(tmp_path / "state")
    job_id = emu.job_ids()[0]
    async with running(emu, settings(tmp_path / "out", tmp_path / "state"), journal=journal) as svc:
        journal.full = True
        status, headers = await post(
            svc.session,
            f"{svc.url}/hooks/hover",
            hover_body(job_id),
            hover_headers(hover_body(job_id)),
        )
        assert (status, headers.get("Retry-After")) == (503, "30")
        assert metric(await svc.metrics(), "hoverbentley_serve_queue_depth_max") == 0
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "No space left on device" in errors[0].getMessage()
        journal.full = False  # space again: the provider's retry is taken
        assert await svc.hover(hover_body(job_id)) == 202
        await svc.service.settled()
    assert record_fetches(emu) == {str(job_id): 1}


class FinishFailsOnce(FullDisk):
    """A journal whose disk is full for the first record of a finished job."""

    fail_finish = False

    def _finish(self, record: Any) -> None:
        self.full, self.fail_finish = self.fail_finish, False
        try:
            super()._finish(record)
        finally:
            self.full = False


async def test_a_job_the_journal_could_not_mark_archived_is_archived_again_later(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = FinishFailsOnce(tmp_path / "state")
    job_id = emu.job_ids()[0]
    config = settings(tmp_path / "out", tmp_path / "state")
    config = replace(config, archiver=replace(config.archiver, retry_delay=0.05))
    async with running(emu, config, journal=journal) as svc:
        journal.fail_finish = True
        assert await svc.hover(hover_body(job_id)) == 202
        await svc.service.settled()
        assert not journal.pending_jobs()
        assert (await svc.service.ready())[0]  # the archiver lives on
    assert record_fetches(emu) == {str(job_id): 2}  # archived, then again once recorded
    assert any("not recorded in the journal" in r.getMessage() for r in caplog.records)


class Crowded(Journal):
    """A journal during whose append another job is queued (a failed run queued again, as
    it may be while the append waits for its fsync)."""

    crowd: Callable[[], None] = staticmethod(lambda: None)

    async def accept(self, event: Event) -> bool:
        accepted = await super().accept(event)
        self.crowd()
        return accepted


async def test_an_event_journaled_while_the_queue_filled_is_still_queued_and_archived(
    emu: Emulator, tmp_path: Path
) -> None:
    journal = Crowded(tmp_path / "state")
    first, other = emu.job_ids()[:2]
    config = settings(tmp_path / "out", tmp_path / "state", queue_size=1)
    async with running(emu, config, journal=journal) as svc:
        journal.crowd = lambda: svc.service.queue.put(JobKey("hover", str(other)), force=True)
        assert await svc.hover(hover_body(first)) == 202
        await svc.service.settled()
    assert record_fetches(emu)[str(first)] == 1


async def test_mounted_in_another_app_the_public_path_is_what_is_signed(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = emu.job_ids()[0]
    async with hover_client(emu) as client:
        sub = create_app(
            settings(tmp_path / "out", tmp_path / "state"),
            {"hover": lambda ids: HoverSource(client, job_ids=[int(i) for i in ids])},
        )
        parent = web.Application()
        parent.add_subapp("/archive", sub)
        async with serve(parent) as url, aiohttp.ClientSession() as session:
            async with session.get(f"{url}/archive/readyz") as response:
                assert response.status == 200
            async with session.get(f"{url}/archive/healthz") as response:
                assert response.status == 200
            # Signed for the public URL's path, received at the path the app sees.
            body = hover_body(job_id)
            status, _ = await post(session, f"{url}/archive/hooks/hover", body, hover_headers(body))
            assert status == 202
            code = json.dumps({"event": "webhook-verification-code", "code": "c0de"}).encode()
            status, _ = await post(session, f"{url}/archive/hooks/hover", code, hover_headers(code))
            assert status == 200
            service = sub[SERVICE]
            await service.settled()
            assert service.verification_codes == ["c0de"]
            # Nothing confirms it here: the log says how, with the code.
            assert "hoverbentley hover webhooks verify c0de" in caplog.text
    assert (tmp_path / "out" / "hover" / str(job_id) / "job.json").exists()
    assert PUBLIC_PATH != "/archive/hooks/hover"


#: Reads of a record that never decodes, in one attempt: a GET answered with no JSON (a
#: maintenance page) is asked again up to the client's retries.
READS_PER_ATTEMPT = 1 + FAST_HTTP.max_retries


def attempts_at(emu: Emulator, job_id: int) -> int:
    """How many times the service tried to archive a job whose record never decodes."""
    reads = record_fetches(emu)[str(job_id)]
    assert reads % READS_PER_ATTEMPT == 0, reads
    return reads // READS_PER_ATTEMPT


def _job_whose_record_never_decodes(emu: Emulator) -> int:
    job_id = emu.job_ids()[0]
    never: list[Fault] = ["html200"] * 500
    emu.script(f"/api/v3/jobs/{job_id}", *never)
    return job_id


def _failing_job_settings(out: Path, state: Path, **archiver: Any) -> ServeSettings:
    """Settings without a sweep: nothing but the archiver's own attempts tries a job again."""
    config = settings(out, state)
    options = replace(config.archiver.options, retries=0)  # one record read per attempt
    return replace(config, archiver=replace(config.archiver, options=options, **archiver))


async def test_a_failed_job_no_sweep_covers_is_tried_again_with_backoff_then_recorded_failed(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = _job_whose_record_never_decodes(emu)
    state = tmp_path / "state"
    config = _failing_job_settings(tmp_path / "out", state, retry_delay=0.01, max_attempts=3)
    async with running(emu, config) as svc:
        assert await svc.hover(hover_body(job_id)) == 202
        with anyio.fail_after(60):
            await svc.service.settled()
        text = await svc.metrics()
    assert attempts_at(emu, job_id) == 3  # three attempts, and no more
    logged = [r.getMessage() for r in caplog.records if f"job {job_id}" in r.getMessage()]
    assert [m.rpartition("; ")[2] for m in logged if "trying again" in m] == [
        "trying again in 0.01 s (attempt 2 of 3)",  # the pause doubles
        "trying again in 0.02 s (attempt 3 of 3)",
    ]
    (failed,) = [r for r in caplog.records if "recorded as failed" in r.getMessage()]
    assert failed.levelno == logging.ERROR and "failed on attempt 3 of 3" in failed.getMessage()
    assert metric(text, "hoverbentley_serve_jobs_retried_total", provider="hover") == 2
    assert metric(text, "hoverbentley_serve_jobs_failed_total", provider="hover") == 1
    assert metric(text, "hoverbentley_serve_jobs_archived_total", provider="hover") == 0
    last = json.loads((state / JOURNAL_NAME).read_bytes().splitlines()[-1])
    assert (last["type"], last["job_id"]) == ("finished", str(job_id)) and last["error"]
    journal = Journal(state)
    journal.open()  # what a restart finds: failed for good, nothing pending
    assert journal.failed_jobs() == {JobKey("hover", str(job_id)): last["error"]}
    assert journal.pending_jobs() == []
    journal.close()


async def test_the_pause_before_a_failed_run_is_tried_again_holds_up_no_other_job(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failing, other = emu.job_ids()[:2]
    tried = anyio.Event()
    async with hover_client(emu) as client:

        def source(ids: list[str]) -> HoverSource:
            if str(failing) in ids:
                tried.set()
                raise OSError("the API is down")
            return HoverSource(client, job_ids=[int(i) for i in ids])

        state = tmp_path / "state"
        config = _failing_job_settings(tmp_path / "out", state, retry_delay=3600.0)
        async with running(emu, config, sources={"hover": source}) as svc:
            assert await svc.hover(hover_body(failing)) == 202
            with anyio.fail_after(60):
                await tried.wait()
                assert await svc.hover(hover_body(other)) == 202
                # Archived now, not after the failed run's hour.
                while JobKey("hover", str(other)) in svc.service.journal.pending_jobs():
                    await svc.service.archiver.wait_run()
    assert (tmp_path / "out" / "hover" / str(other) / "job.json").exists()
    assert "trying again in 3600 s: the API is down" in caplog.text
    journal = Journal(state)
    journal.open()  # the failed job's event is still pending for the next start
    assert journal.pending_jobs() == [JobKey("hover", str(failing))]
    journal.close()


async def _logged(caplog: pytest.LogCaptureFixture, text: str, count: int) -> None:
    """Wait until ``text`` is in ``count`` log lines (the archiver logging is the event)."""
    with anyio.fail_after(60):
        while sum(text in r.getMessage() for r in caplog.records) < count:
            await anyio.sleep(0.01)


async def test_a_new_event_gives_a_failed_job_its_attempts_again(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = _job_whose_record_never_decodes(emu)
    config = _failing_job_settings(
        tmp_path / "out", tmp_path / "state", retry_delay=3600.0, max_attempts=2
    )
    async with running(emu, config) as svc:
        assert await svc.hover(hover_body(job_id)) == 202
        await _logged(caplog, "(attempt 2 of 2)", 1)
        # A new event of the job, during the hour's pause: tried now, its attempts afresh.
        assert await svc.hover(hover_body(job_id, state="complete", note="again")) == 202
        await _logged(caplog, "(attempt 2 of 2)", 2)
        text = await svc.metrics()
    assert attempts_at(emu, job_id) == 2
    assert "recorded as failed" not in caplog.text
    assert metric(text, "hoverbentley_serve_jobs_failed_total", provider="hover") == 0
    journal = Journal(tmp_path / "state")
    journal.open()  # both events still pending for the next start
    assert journal.pending_jobs() == [JobKey("hover", str(job_id))]
    assert journal.failed_jobs() == {}
    journal.close()


async def test_a_restart_goes_on_counting_a_failed_jobs_attempts_after_its_pause(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hoverbentley.serve")
    job_id = _job_whose_record_never_decodes(emu)
    state = tmp_path / "state"
    config = _failing_job_settings(tmp_path / "out", state, retry_delay=3600.0, max_attempts=3)

    def journal(hours_later: float) -> Journal:
        return Journal(state, clock=lambda: time.time() + hours_later * 3600)

    async with running(emu, config, journal=journal(0)) as svc:
        assert await svc.hover(hover_body(job_id)) == 202
        await _logged(caplog, "trying again in 3600 s (attempt 2 of 3)", 1)
    # Restarted within the hour: the job waits out the rest of its pause.
    async with running(emu, config, journal=journal(0)) as svc:
        assert svc.service.queue.depth == 0
    assert "1 jobs pending from before, queued again (1 after a pause)" in caplog.text
    assert attempts_at(emu, job_id) == 1
    # Two hours on: tried at start, as its second attempt.
    async with running(emu, config, journal=journal(2)) as svc:
        await _logged(caplog, "trying again in 3600 s (attempt 3 of 3)", 1)  # the longest
    # Five hours on: the third attempt is its last.
    async with running(emu, config, journal=journal(5)) as svc:
        with anyio.fail_after(60):
            await svc.service.settled()
        text = await svc.metrics()
    assert attempts_at(emu, job_id) == 3
    assert "failed on attempt 3 of 3" in caplog.text
    assert metric(text, "hoverbentley_serve_jobs_failed_total", provider="hover") == 1
    after = journal(5)
    after.open()
    assert list(after.failed_jobs()) == [JobKey("hover", str(job_id))]
    assert after.pending_jobs() == []
    after.close()


class RetriesUnwritable(FullDisk):
    """A journal whose disk is full whenever a failed attempt is recorded."""

    def _retrying(self, record: Any, covered: frozenset[str]) -> bool:
        self.full = True
        try:
            return super()._retrying(record, covered)
        finally:
            self.full = False


async def test_a_failed_attempt_the_journal_cannot_record_is_still_counted_and_retried(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = _job_whose_record_never_decodes(emu)
    state = tmp_path / "state"
    config = _failing_job_settings(tmp_path / "out", state, retry_delay=0.01, max_attempts=3)
    async with running(emu, config, journal=RetriesUnwritable(state)) as svc:
        assert await svc.hover(hover_body(job_id)) == 202
        with anyio.fail_after(60):
            await svc.service.settled()
    assert attempts_at(emu, job_id) == 3  # counted in memory: three, no more
    assert caplog.text.count("attempt not journaled: cannot write the journal") == 2
    assert "failed on attempt 3 of 3" in caplog.text
    journal = Journal(state)
    journal.open()
    assert list(journal.failed_jobs()) == [JobKey("hover", str(job_id))]
    journal.close()


async def broken_sweep() -> list[Any]:
    return [object()]  # not a summary: the archiver's task ends with an error


async def acknowledged_before_a_restart(state: Path) -> None:
    """Leave Hover job 7 pending in the journal of ``state``, as a service stopped after
    acknowledging its event would."""
    before = Journal(state)
    before.open()
    event = Event(
        message_id="m1", provider="hover", job_id="7", received=1.0, event_type="job-state-changed"
    )
    assert await before.accept(event)
    before.close()


async def test_settled_raises_when_the_archiver_died_with_jobs_left(tmp_path: Path) -> None:
    from hoverbentley.serve.app import ArchiverStopped

    state = tmp_path / "state"
    await acknowledged_before_a_restart(state)
    config = settings(tmp_path / "out", state)
    config = replace(config, archiver=replace(config.archiver, sweep_interval=3600.0))

    def unreachable(job_ids: list[str]) -> Any:
        raise OSError("the API is out of reach")

    # The job's run fails (it waits for its next attempt), then the sweep ends the archiver.
    service = create_app(config, {"hover": unreachable}, sweep=broken_sweep)[SERVICE]
    await service.start()
    try:
        with anyio.fail_after(60), pytest.raises(ArchiverStopped) as raised:
            await service.settled()
        assert "1 jobs left pending" in str(raised.value)
        assert isinstance(raised.value.__cause__, AttributeError)
    finally:
        await service.drain()
    assert service.journal.pending_jobs() == [JobKey("hover", "7")]


async def test_settled_does_not_wait_for_jobs_no_source_here_archives(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    await acknowledged_before_a_restart(state)  # by a service that archived Hover jobs
    # Restarted with no Hover source: the job waits for a start that has one.
    service = create_app(settings(tmp_path / "out", state), {})[SERVICE]
    await service.start()
    try:
        with anyio.fail_after(60):
            await service.settled()
    finally:
        await service.drain()
    assert "no source archives hover jobs here: 1 left pending" in caplog.text
    assert service.journal.pending_jobs() == [JobKey("hover", "7")]


async def test_drain_closes_the_journal_and_frees_the_state_directory_if_the_archiver_died(
    tmp_path: Path,
) -> None:

    state = tmp_path / "state"
    config = settings(tmp_path / "out", state)
    config = replace(config, archiver=replace(config.archiver, sweep_interval=3600.0))
    service = create_app(config, {}, sweep=broken_sweep)[SERVICE]
    await service.start()
    with anyio.fail_after(60):
        while (await service.ready())[1] != "the archiver stopped":
            await anyio.sleep(0.01)
    await service.drain()  # returns: the archiver's error is logged, not raised
    assert not service.journal.writable()
    lock = StateDirLock(state)  # the directory is free for the next start
    lock.acquire()
    again = Journal(state)
    again.open()
    again.close()
    lock.release()
