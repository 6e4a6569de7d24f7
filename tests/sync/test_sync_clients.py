"""The sync clients beyond the shared contract tests (tests/flavours.py): the same surface as
the async clients, the archive on their loop, errors, closing and abandoned iterators."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hoverbentley import BentleySource, HoverSource, RealityManagementClient
from hoverbentley.archive import verify_archive
from hoverbentley.bentley import F
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.errors import ConfigurationError, HoverBentleyError, NotFoundError, ServerError
from hoverbentley.sync import (
    SyncHoverClient,
    SyncRealityManagementClient,
    SyncRealityModelingClient,
    archive,
)
from tests.flavours import SYNC_OF
from tests.support import FAST, user_email

EMULATOR = EmulatorConfig(jobs=6)


def hover(emu: Emulator, **kwargs: Any) -> SyncHoverClient:
    return SyncHoverClient(
        token=emu.config.token,
        current_user_email=user_email(emu),
        base_url=emu.hover_url,
        http=FAST,
        **kwargs,
    )


def modeling(emu: Emulator) -> SyncRealityModelingClient:
    return SyncRealityModelingClient(
        token=emu.config.bentley.token, base_url=emu.reality_modeling_url, http=FAST
    )


#: Async methods without a sync twin, and why.
ASYNC_ONLY = {
    "aclose": "close() is the sync client's",
    "container": "a SasContainer, for the async storage functions (through .aio)",
}


def public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in ASYNC_ONLY
    }


@pytest.mark.parametrize("async_cls", list(SYNC_OF), ids=lambda c: c.__name__)
def test_every_async_method_has_a_sync_twin_with_its_parameters(async_cls: type) -> None:
    sync_cls = SYNC_OF[async_cls]
    methods = public_methods(async_cls)
    assert methods and set(methods) <= set(public_methods(sync_cls)), sync_cls
    for name, method in methods.items():
        twin = getattr(sync_cls, name)
        assert inspect.signature(twin).parameters == inspect.signature(method).parameters, name
        assert twin.__doc__ == method.__doc__, name
    assert inspect.signature(sync_cls).parameters == inspect.signature(async_cls).parameters


def test_errors_propagate_as_the_same_typed_errors(emu_thread: Emulator) -> None:
    with hover(emu_thread) as client:
        with pytest.raises(NotFoundError) as missing:
            client.get_job(999)
        assert missing.value.status_code == 404
        with pytest.raises(ConfigurationError, match="3 characters"):
            next(client.iter_jobs(search="ab"))
        emu_thread.script("/api/v3/jobs?", "500", "500", "500")
        with pytest.raises(ServerError):
            list(client.iter_jobs())
        # The client goes on after errors.
        assert client.get_job(15084303).id == 15084303


def test_closing_twice_and_use_after_close(emu_thread: Emulator) -> None:
    client = hover(emu_thread)
    jobs = client.iter_jobs()
    assert next(jobs).id
    client.close()
    client.close()
    assert client.closed and "closed" in repr(client)
    with pytest.raises(HoverBentleyError, match="SyncHoverClient is closed"):
        client.get_job(15084303)
    with pytest.raises(HoverBentleyError, match="SyncHoverClient is closed"):
        next(jobs)
    with pytest.raises(HoverBentleyError, match="SyncHoverClient is closed"):
        list(client.iter_jobs())
    with client:  # leaving again closes nothing more
        pass
    assert not [t for t in threading.enumerate() if t.name == "hoverbentley-loop"]


def test_threads_share_one_client(emu_thread: Emulator) -> None:
    job_ids = emu_thread.job_ids()
    with hover(emu_thread) as client, ThreadPoolExecutor(4) as pool:
        jobs = list(pool.map(client.get_job, job_ids))
    assert [job.id for job in jobs] == job_ids
    assert len(emu_thread.requests_to("hover", "/api/v3/jobs/")) == len(job_ids)


async def _tasks() -> int:
    return len(asyncio.all_tasks())


def test_an_abandoned_iterator_cancels_the_page_it_was_fetching(emu_thread: Emulator) -> None:
    """The second page never answers: leaving after the first item must close the async
    iterators at once and cancel that request (a leaked prefetch would stay on the loop)."""
    with hover(emu_thread, page_size=2) as client:
        baseline = client.run(_tasks)
        emu_thread.script("page=2&", "hang")
        for summary in client.iter_jobs():
            assert summary.id
            break
        assert client.run(_tasks) == baseline
        jobs = client.iter_jobs()
        next(jobs)
        assert jobs.gi_frame is not None
        summaries = jobs.gi_frame.f_locals["items"]  # HoverClient.iter_jobs
        pages = summaries.ag_frame.f_locals["pages"]  # the prefetching pager inside it
        del jobs  # its last reference
        assert summaries.ag_frame is None and pages.ag_frame is None  # both closed
        assert client.run(_tasks) == baseline


def test_closing_the_client_closes_its_iterators_still_open(
    emu_thread: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    with hover(emu_thread, page_size=2) as client:
        jobs = client.iter_jobs()
        next(jobs)
        assert jobs.gi_frame is not None
        summaries = jobs.gi_frame.f_locals["items"]
        pages = summaries.ag_frame.f_locals["pages"]
    assert summaries.ag_frame is None and pages.ag_frame is None
    with pytest.raises(HoverBentleyError, match="is closed"):
        next(jobs)
    del jobs
    assert not [r for r in caplog.records if r.name == "asyncio"]
    _loop_threads_end()


def _loop_threads_end() -> None:
    for thread in threading.enumerate():
        if thread.name in ("hoverbentley-loop", "hoverbentley-close"):
            thread.join(timeout=30)
    assert not [t for t in threading.enumerate() if t.name == "hoverbentley-loop"]


def test_a_blocking_call_on_the_clients_own_loop_is_a_typed_error(emu_thread: Emulator) -> None:
    with hover(emu_thread) as client:

        async def inside() -> None:  # as a callback such as on_progress runs
            client.get_job(15084303)

        with pytest.raises(HoverBentleyError, match="called on its own loop's thread"):
            client.run(inside)
        assert client.get_job(15084303).id == 15084303


def test_closing_on_the_clients_own_loop_closes_it_from_another_thread(
    emu_thread: Emulator,
) -> None:
    client = hover(emu_thread)
    client.get_job(15084303)

    async def inside() -> None:
        client.close()

    client.run(inside)
    assert client.closed
    with pytest.raises(HoverBentleyError, match="is closed"):
        client.get_job(15084303)
    _loop_threads_end()


def test_an_unclosed_client_collected_on_its_own_loop_stops_the_loop(
    emu_thread: Emulator,
) -> None:
    holder = [hover(emu_thread)]
    portal = holder[0]._portal()

    async def drop() -> None:
        holder.clear()  # the last reference, dropped on the loop's thread

    with pytest.warns(ResourceWarning, match="unclosed SyncHoverClient"):
        portal.call(drop)
    _loop_threads_end()


def test_an_unclosed_client_warns_and_stops_its_loop(emu_thread: Emulator) -> None:
    client = hover(emu_thread)
    client.get_job(15084303)
    with pytest.warns(ResourceWarning, match="unclosed SyncHoverClient"):
        del client  # its last reference: collected at once
    assert not [t for t in threading.enumerate() if t.name == "hoverbentley-loop"]


def test_a_callers_session_is_refused_with_the_reason(emu_thread: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="only on the loop it was made on"):
        hover(emu_thread, session=object())
    assert not [t for t in threading.enumerate() if t.name == "hoverbentley-loop"]


def test_the_hover_archive_runs_on_the_clients_loop(emu_thread: Emulator, tmp_path: Path) -> None:
    job_ids = emu_thread.job_ids()[:3]
    with hover(emu_thread) as client:
        summary = archive(HoverSource(client.aio, job_ids=job_ids), tmp_path)
        expected = [f for j in job_ids for f in emu_thread.expected_files(j)]
    assert summary.downloaded == len(expected) and not summary.failures
    with hover(emu_thread) as client:  # any async function, on the client's loop
        report = client.run(verify_archive, tmp_path)
    assert report.ok and report.verified == len(expected) + len(job_ids), report  # + job.json
    got = sorted(
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (tmp_path / "hover").rglob("*")
        if p.is_file() and p.name != "job.json"
    )
    assert got == sorted(f.sha256 for f in expected)


def test_the_bentley_archive_reads_outputs_through_a_client_on_the_same_loop(
    emu_thread: Emulator, tmp_path: Path
) -> None:
    itwin = emu_thread.itwin_ids[1]
    wanted = {
        output["id"]
        for job in emu_thread.bentley_jobs()
        if job["iTwinId"] == itwin
        for output in job["jobSettings"]["outputs"]
        if output["format"] == "OBJ" and output["id"]
    }
    expected = {
        f"{b.output_id}/{b.name}": b.sha256 for i in wanted for b in emu_thread.expected_blobs(i)
    }
    url = emu_thread.reality_management_url
    with modeling(emu_thread) as rm:
        with rm.same_loop(SyncRealityManagementClient, auth=rm.auth, base_url=url) as reality:
            listed = list(reality.iter_reality_data(itwin))
            assert reality.get_reality_data(listed[0].id).id == listed[0].id
            assert reality.read_access(listed[0].id).startswith(emu_thread.blob_url)
            source = BentleySource(
                rm.aio, F.itwin_id.eq(itwin), reality=reality.aio, outputs=frozenset({"OBJ"})
            )
            summary = archive(source, tmp_path)
        assert not rm.closed  # the loop stays for the client that opened it
        assert rm.get_job(next(iter(emu_thread.bentley_jobs()))["id"])
    assert summary.downloaded == len(expected) and expected
    got = {
        p.relative_to(base).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for base in tmp_path.glob("bentley/*/outputs")
        for p in base.rglob("*")
        if p.is_file()
    }
    assert got == expected


def test_the_archive_refuses_clients_it_cannot_drive(emu_thread: Emulator, tmp_path: Path) -> None:
    itwin = emu_thread.itwin_ids[1]
    url = emu_thread.reality_management_url
    with (
        modeling(emu_thread) as rm,
        SyncRealityManagementClient(auth=rm.auth, base_url=url, http=FAST) as apart,
    ):
        source = BentleySource(rm.aio, F.itwin_id.eq(itwin), reality=apart.aio)
        with pytest.raises(ConfigurationError, match="same_loop"):
            archive(source, tmp_path)
        plain = RealityManagementClient(auth=rm.auth, base_url=url)
        with pytest.raises(ConfigurationError, match="same_loop"):
            archive(BentleySource(rm.aio, F.itwin_id.eq(itwin), reality=plain), tmp_path)
    with hover(emu_thread) as client:
        pass
    with pytest.raises(ConfigurationError, match=r"sync_client\.aio"):
        archive(HoverSource(client.aio, job_ids=[15084303]), tmp_path)
    assert not list(tmp_path.iterdir())
