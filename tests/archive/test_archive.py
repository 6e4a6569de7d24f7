"""The archive pipeline against the emulator: complete, verified, resumable, selective."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest

from hoverbentley.archive import ArchiveOptions, ArchiveSummary, archive, parse_include
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.cli.progress import summary_text
from hoverbentley.config import HttpConfig
from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from hoverbentley.hover.client import HoverClient
from tests.support import hover_client

from .helpers import (
    FAST_HTTP,
    SMALL_SIZES,
    KiB,
    MiB,
    assert_complete,
    assert_no_credentials_to_storage,
    big_pdfs,
    disk_files,
    expected_by_key,
    failed_models,
    file_requests,
    live_progress,
    main_model_pdf,
    partial_files,
    read_manifest,
    storage_fragment,
    storage_requests,
)

pytestmark = pytest.mark.anyio

JOBS = 10


@asynccontextmanager
async def emulator(**kwargs: object) -> AsyncIterator[Emulator]:
    config = EmulatorConfig(**{"jobs": JOBS, "sizes": SMALL_SIZES, **kwargs})  # type: ignore[arg-type]
    async with Emulator(config) as emu:
        yield emu


@asynccontextmanager
async def client(emu: Emulator, http: HttpConfig = FAST_HTTP) -> AsyncIterator[HoverClient]:
    async with hover_client(emu, http=http) as hover:
        yield hover


async def run(
    emu: Emulator,
    out: Path,
    *,
    http: HttpConfig = FAST_HTTP,
    include: str | None = None,
    job_ids: list[int] | None = None,
    **options: int | bool,
) -> ArchiveSummary:
    async with client(emu, http) as hover:
        source = HoverSource(
            hover,
            job_ids=job_ids,
            archived=job_ids is None,
            include=parse_include(include),
        )
        return await archive(source, out, ArchiveOptions(**options))  # type: ignore[arg-type]


def assert_clean_summary(summary: ArchiveSummary, emu: Emulator, *, downloaded: int) -> None:
    expected = emu.expected_files()
    assert summary.ok, (summary.failures, summary.job_failures)
    assert summary.jobs == len(emu.job_ids())
    assert summary.files == len(expected)
    assert (summary.downloaded, summary.skipped, summary.failed) == (
        downloaded,
        len(expected) - downloaded,
        0,
    )
    assert not summary.failures and not summary.job_failures


async def test_full_archive_holds_every_file_once_with_the_emulators_sha256(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    async with emulator() as emu:
        summary = await run(emu, out)
        expected = emu.expected_files()
        job_ids = emu.job_ids()

        assert len(job_ids) == JOBS + 2  # the two seed jobs and an archived one included
        assert_clean_summary(summary, emu, downloaded=len(expected))
        assert summary.bytes == sum(f.size for f in expected)
        assert not summary.dry_run and not summary.interrupted
        assert_complete(out, emu, job_ids)
        assert not partial_files(out)

        # One storage request per file, each answered 200; redirects carried no credentials.
        storage = storage_requests(emu)
        assert len(storage) == len(expected)
        assert {r.status for r in storage} == {200}
        assert all(r.range is None for r in storage)
        hover_files = file_requests(emu)
        assert len(hover_files) == len(expected)
        assert {r.status for r in hover_files} == {302}
        assert_no_credentials_to_storage(emu)

        # Failed models are not failures: they are listed with their state and reason.
        skipped = {(s.job_id, s.part_id, s.state, s.reason) for s in summary.skipped_parts}
        assert skipped == failed_models(emu, job_ids)
        assert skipped, "the emulator's catalog should hold some failed models"
        for job_id, model_id, _, _ in skipped:
            assert not (out / "hover" / job_id / "models" / model_id).exists()

        # index.csv: one row per job, named and addressed as in the payload.
        with open(out / "index.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert [r["job_id"] for r in rows] == [str(j) for j in job_ids]
        for row in rows:
            payload = emu.job_payload(int(row["job_id"]))
            assert row["provider"] == "hover"
            assert row["directory"] == f"hover/{row['job_id']}"
            assert row["name"] == payload["name"]
            assert row["state"] == payload["reconstruction_state"]
            assert row["updated_at"] == payload["updated_at"]
            assert payload["address"]["city"] in row["address"]


async def test_random_faults_still_give_a_complete_archive_with_each_file_once(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    faults = FaultConfig(
        error_500=0.10,
        error_503=0.10,
        reset=0.05,
        truncate=0.05,
        rate_limit=0.05,
        retry_after_seconds=0.0,
        seed=11,
    )
    # Large files stream through ``.part`` and resume; two are broken mid-body for certain.
    # (A body cut within the client's first read buffer is lost whole, so one file is larger.)
    sizes = {**big_pdfs(4, 3 * MiB), main_model_pdf(1): 8 * MiB}
    async with emulator(faults=faults, size_overrides=sizes) as emu:
        reset = expected_by_key(emu, main_model_pdf(0))
        truncated = expected_by_key(emu, main_model_pdf(1))
        emu.script(storage_fragment(emu, reset.url), "reset")
        emu.script(storage_fragment(emu, truncated.url), "truncate")
        summary = await run(emu, out, http=replace(FAST_HTTP, max_retries=10))

        expected = emu.expected_files()
        assert_clean_summary(summary, emu, downloaded=len(expected))
        assert_complete(out, emu, emu.job_ids(), unique=True)
        assert not partial_files(out)
        assert_no_credentials_to_storage(emu)

        injected = emu.faults.injected
        for fault in ("500", "503", "reset", "truncate"):
            assert injected.get(fault, 0) > 0, injected
        assert injected.get("429", 0) + injected.get("429-no-retry-after", 0) > 0, injected
        # The truncated big file was resumed where it stopped, not fetched again.
        resumed = [
            r
            for r in storage_requests(emu)
            if storage_fragment(emu, truncated.url) in r.path and r.range
        ]
        assert resumed, "the truncated file was not resumed"
        for request in resumed:  # random faults may hit the resumes too
            offset = int(request.range.removeprefix("bytes=").rstrip("-"))
            assert 0 < offset < truncated.size
            assert request.headers.get("If-Range") == truncated.etag
        assert int(resumed[0].range.removeprefix("bytes=").rstrip("-")) <= truncated.size // 2
        assert resumed[-1].status == 206


async def test_rerun_downloads_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with emulator() as emu:
        first = await run(emu, out)
        expected = emu.expected_files()
        assert first.downloaded == len(expected)
        assert first.records_changed == len(emu.job_ids())
        manifest = (out / "manifest.jsonl").read_bytes()

        mark = len(emu.requests)
        second = await run(emu, out)
        assert_clean_summary(second, emu, downloaded=0)
        assert second.bytes == 0
        assert not storage_requests(emu, mark)
        assert not file_requests(emu, mark)  # skipped without asking the server
        assert f"0 downloaded (0 B), {len(expected)} already complete, 0 failed" in (
            summary_text(second)
        )
        # Nothing new to record: the job records are unchanged too.
        assert second.records_changed == 0
        assert (out / "manifest.jsonl").read_bytes() == manifest
        assert_complete(out, emu, emu.job_ids())


async def test_rerun_downloads_again_files_deleted_or_damaged_on_disk(tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with emulator() as emu:
        await run(emu, out)
        entries = [e for e in read_manifest(out) if e["kind"] != "job"]
        deleted, damaged = entries[3], entries[7]
        (out / deleted["path"]).unlink()
        with open(out / damaged["path"], "ab") as fh:
            fh.write(b"tail")

        mark = len(emu.requests)
        summary = await run(emu, out)
        assert_clean_summary(summary, emu, downloaded=2)
        fetched = storage_requests(emu, mark)
        assert len(fetched) == 2
        for entry in (deleted, damaged):
            assert any(storage_fragment(emu, entry["url"]) in r.path for r in fetched)
        assert_complete(out, emu, emu.job_ids(), unique=False)


async def _leave_part(emu: Emulator, out: Path, job_id: int, url: str) -> int:
    """Archive job ``job_id`` with ``url`` cut half-way and no retries; return the .part size."""
    emu.script(storage_fragment(emu, url), "truncate")
    summary = await run(
        emu, out, job_ids=[job_id], http=replace(FAST_HTTP, max_retries=0), retries=0
    )
    assert summary.failed == 1 and not summary.ok
    (failure,) = summary.failures
    part = out / (failure.path + ".part")
    assert part.exists() and (out / (failure.path + ".part.json")).exists()
    assert not (out / failure.path).exists()
    failed = [e for e in read_manifest(out) if e["status"] == "failed"]
    assert [e["path"] for e in failed] == [failure.path]
    return part.stat().st_size


async def test_part_file_is_resumed_with_a_range_request(tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with emulator(size_overrides=big_pdfs(1, 8 * MiB)) as emu:
        big = expected_by_key(emu, main_model_pdf(0))
        part_size = await _leave_part(emu, out, big.job_id, big.url)
        assert 0 < part_size <= big.size // 2

        mark = len(emu.requests)
        summary = await run(emu, out, job_ids=[big.job_id])
        assert summary.ok and summary.downloaded == 1
        # Only the missing half crossed the network.
        assert summary.bytes == big.size - part_size
        (request,) = storage_requests(emu, mark)
        assert request.range == f"bytes={part_size}-"
        assert request.headers.get("If-Range") == big.etag
        assert request.status == 206
        assert_complete(out, emu, [big.job_id], expected=emu.expected_files(big.job_id))
        assert not partial_files(out)


async def test_part_of_a_file_changed_upstream_starts_over(tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with emulator(size_overrides=big_pdfs(1, 8 * MiB)) as emu:
        big = expected_by_key(emu, main_model_pdf(0))
        assert await _leave_part(emu, out, big.job_id, big.url) > 0
        emu.change_file(big.url)
        changed = expected_by_key(emu, main_model_pdf(0))
        assert changed.sha256 != big.sha256 and changed.etag != big.etag

        mark = len(emu.requests)
        summary = await run(emu, out, job_ids=[big.job_id])
        assert summary.ok and summary.downloaded == 1
        assert summary.bytes == big.size  # the whole file again
        (request,) = storage_requests(emu, mark)
        assert request.range is not None and request.headers.get("If-Range") == big.etag
        assert request.status == 200  # If-Range did not match: the whole new file
        entries = assert_complete(out, emu, [big.job_id], expected=emu.expected_files(big.job_id))
        (entry,) = [e for e in entries.values() if e["url"] == big.url]
        assert entry["sha256"] == changed.sha256


async def test_complete_file_changed_upstream_is_kept_on_rerun(tmp_path: Path) -> None:
    """As documented: a rerun skips complete files without a request, so it does not notice a
    file re-exported upstream (Hover's payload gives no size or ETag to compare)."""
    out = tmp_path / "out"
    async with emulator() as emu:
        job_id = emu.job_ids()[2]
        await run(emu, out, job_ids=[job_id])
        old = expected_by_key(emu, main_model_pdf(0))
        emu.change_file(old.url)
        assert expected_by_key(emu, main_model_pdf(0)).sha256 != old.sha256

        mark = len(emu.requests)
        summary = await run(emu, out, job_ids=[job_id])
        assert summary.ok and summary.downloaded == 0
        assert summary.skipped == len(emu.expected_files(job_id))
        assert not storage_requests(emu, mark)
        (entry,) = [e for e in read_manifest(out) if e["url"] == old.url]
        assert entry["sha256"] == old.sha256
        assert disk_files(out)[entry["path"]] == old.sha256


async def test_dry_run_plans_the_right_counts_and_downloads_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with emulator() as emu:
        summary = await run(emu, out, dry_run=True)
        expected = emu.expected_files()
        assert summary.dry_run and summary.ok
        assert summary.jobs == len(emu.job_ids())
        assert summary.files == len(expected)
        assert summary.downloaded == summary.skipped == summary.failed == summary.bytes == 0
        formats = Counter(Path(urlsplit(f.url).path).suffix.lstrip(".").lower() for f in expected)
        assert summary.formats == dict(formats)
        assert {(s.job_id, s.part_id) for s in summary.skipped_parts} == {
            (j, m) for j, m, _, _ in failed_models(emu, emu.job_ids())
        }
        assert summary.planned_bytes is None  # Hover's payload does not give sizes
        assert not out.exists()
        assert not storage_requests(emu)
        assert not file_requests(emu)
        assert "nothing downloaded" in summary_text(summary)


@pytest.mark.parametrize(
    ("include", "wanted"),
    [
        (
            "pdf,images",
            lambda f: f.kind == "image" or urlsplit(f.url).path.endswith(".pdf"),
        ),
        ("xml_v2", lambda f: "cad_export.xml" in f.url and "version=v2" in f.url),
    ],
    ids=["pdf+images", "artifact-key"],
)
async def test_include_selects_files(
    tmp_path: Path, include: str, wanted: Callable[..., bool]
) -> None:
    out = tmp_path / "out"
    async with emulator() as emu:
        summary = await run(emu, out, include=include)
        expected = [f for f in emu.expected_files() if wanted(f)]
        assert 0 < len(expected) < len(emu.expected_files())
        assert summary.ok and summary.files == summary.downloaded == len(expected)
        assert len(storage_requests(emu)) == len(expected)
        # Job records are archived whatever the selection.
        assert_complete(out, emu, emu.job_ids(), expected=expected)


async def test_permanently_failing_file_is_recorded_and_the_rest_complete(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    async with emulator() as emu:
        bad = expected_by_key(emu, main_model_pdf(0))
        fragment = storage_fragment(emu, bad.url)
        emu.script(fragment, *["500"] * 20)
        summary = await run(emu, out, http=replace(FAST_HTTP, max_retries=2), retries=0)

        expected = emu.expected_files()
        assert not summary.ok
        assert summary.failed == 1 and summary.downloaded == len(expected) - 1
        (failure,) = summary.failures
        assert "500" in failure.error
        attempts = [r for r in storage_requests(emu) if fragment in r.path]
        assert [r.status for r in attempts] == [500, 500, 500]  # 1 + max_retries
        assert f"failed files (1):\n  {failure.path}: " in summary_text(summary)

        lines = read_manifest(out)
        (failed,) = [e for e in lines if e["status"] == "failed"]
        assert failed["path"] == failure.path and failed["url"] == bad.url
        assert failed["error"] and "sha256" not in failed
        assert not (out / failure.path).exists()
        others = [f for f in expected if f.url != bad.url]
        ok_files = {(e["url"], e["sha256"]) for e in lines if e["status"] == "ok"}
        assert {(f.url, f.sha256) for f in others} <= ok_files
        assert bad.url not in {u for u, _ in ok_files}

        # The fault is gone: the rerun fetches that one file only.
        emu.faults.clear()
        mark = len(emu.requests)
        again = await run(emu, out)
        assert again.ok and again.downloaded == 1 and again.skipped == len(expected) - 1
        assert len(storage_requests(emu, mark)) == 1
        assert_complete(out, emu, emu.job_ids())


@pytest.mark.slow
async def test_cancelled_run_leaves_only_complete_files_and_a_rerun_finishes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    sizes = {**SMALL_SIZES, "cad_exports": (1536 * KiB, 3 * MiB)}
    # Slow bodies: the run is caught with files half-written.
    faults = FaultConfig(slow=1.0, slow_delay=0.01)
    async with Emulator(EmulatorConfig(jobs=3, sizes=sizes, faults=faults)) as emu:
        with anyio.move_on_after(20) as deadline:
            async with anyio.create_task_group() as group:
                group.start_soon(lambda: run(emu, out, concurrency=4))
                while True:
                    await anyio.sleep(0.02)
                    done, _, parts = live_progress(out)
                    if done >= 3 and parts:
                        break
                group.cancel_scope.cancel()  # what Ctrl-C does to the run
        assert not deadline.cancelled_caught, "the run never got going"

        # The manifest parses; nothing but complete files sits at a final path.
        done_entries = {e["path"]: e for e in read_manifest(out) if e["status"] == "ok"}
        before = disk_files(out)
        resumable = {
            p: (out / p).stat().st_size
            for p in before
            if p.endswith(".part") and (out / p).stat().st_size and p + ".json" in before
        }
        assert resumable, "the run was not caught mid-file"
        finals = {p: h for p, h in before.items() if not p.endswith((".part", ".part.json"))}
        for path, entry in done_entries.items():
            assert finals[path] == entry["sha256"]
        expected_files = emu.expected_files()
        assert len([p for p in done_entries if not p.endswith("job.json")]) < len(expected_files)

        emu.faults.config = FaultConfig()  # full speed for the rerun
        mark = len(emu.requests)
        summary = await run(emu, out, concurrency=4)
        assert summary.ok
        complete = assert_complete(out, emu, emu.job_ids())
        for path, digest in finals.items():
            assert complete[path]["sha256"] == digest, path
        assert not partial_files(out)
        # Files complete before the interruption were not fetched again; parts were resumed.
        assert summary.skipped >= len([p for p in done_entries if not p.endswith("job.json")])
        # (416: a .part already whole when the run stopped, finished without a body.)
        ranged = [r for r in storage_requests(emu, mark) if r.range]
        assert sorted(r.range for r in ranged) == sorted(f"bytes={n}-" for n in resumable.values())
        assert {r.status for r in ranged} <= {206, 416}
        assert summary.bytes < sum(f.size for f in expected_files)


async def test_failed_download_error_carries_no_storage_signature(tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with emulator() as emu:
        bad = expected_by_key(emu, main_model_pdf(0))
        emu.script(storage_fragment(emu, bad.url), "500")
        summary = await run(
            emu, out, job_ids=[bad.job_id], http=replace(FAST_HTTP, max_retries=0), retries=0
        )
        (failure,) = summary.failures
        signatures = {
            r.query["X-Signature"] for r in storage_requests(emu) if "X-Signature" in r.query
        }
        assert signatures
        recorded = failure.error + failure.url + (out / "manifest.jsonl").read_text()
        assert not [s for s in signatures if s in recorded]


@pytest.mark.parametrize("fault", ["html200", "empty", "junk"])
async def test_a_list_page_answered_with_no_json_is_asked_again(tmp_path: Path, fault: str) -> None:
    """A proxy's maintenance page in the service's place ends no run: the page is asked for
    again as a 503 would be (a body of JSON of the wrong shape is not: it would not change)."""
    async with emulator() as emu:
        emu.script("/api/v3/jobs?", fault)  # type: ignore[arg-type]
        summary = await run(emu, tmp_path / "out")
        listed = [r for r in emu.requests if r.path == "/api/v3/jobs" and r.method == "GET"]
    assert summary.ok and summary.jobs == len(emu.job_ids())
    assert [r.fault for r in listed[:2]] == [fault, None]
    assert listed[0].query_string == listed[1].query_string  # the same page, again
