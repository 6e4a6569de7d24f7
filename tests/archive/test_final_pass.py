"""Later passes (rclone's --retries): what failed is planned again and fetched again."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hoverbentley.archive import ArchiveOptions
from hoverbentley.emulator import Emulator
from hoverbentley.errors import ConfigurationError

from .helpers import (
    FAST_HTTP,
    assert_complete,
    expected_by_key,
    main_model_pdf,
    read_manifest,
    sha256_file,
    storage_fragment,
    storage_requests,
)
from .test_archive import emulator, run

pytestmark = pytest.mark.anyio


def _detail_requests(emu: Emulator, job_id: int) -> int:
    """How many times the job's details were fetched (once per plan)."""
    return len(emu.requests_to("hover", f"/api/v3/jobs/{job_id}?"))


async def test_a_file_that_exhausts_its_retries_once_completes_in_a_later_pass(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    async with emulator(jobs=2) as emu:
        bad = expected_by_key(emu, main_model_pdf(0))
        fragment = storage_fragment(emu, bad.url)
        emu.script(fragment, *["500"] * 3)  # all of the main pass's 1 + 2 attempts
        summary = await run(emu, out, http=replace(FAST_HTTP, max_retries=2))

        expected = emu.expected_files()
        assert summary.ok, summary.failures
        assert (summary.downloaded, summary.failed, summary.retried_files) == (len(expected), 0, 1)
        assert not summary.failures
        assert [r.status for r in storage_requests(emu) if fragment in r.path] == [500] * 3 + [200]
        # The job was planned again for the later pass (fresh details and URLs); no other was.
        for job_id in emu.job_ids():
            assert _detail_requests(emu, job_id) == (2 if job_id == bad.job_id else 1)

        entries = assert_complete(out, emu, emu.job_ids())
        (entry,) = [e for e in entries.values() if e["url"] == bad.url]
        assert entry["sha256"] == bad.sha256 == sha256_file(out / entry["path"])
        # After compaction the failed line of the main pass is gone.
        assert len(read_manifest(out)) == len(expected) + len(emu.job_ids())


@pytest.mark.parametrize("retries", [0, 1, 2])
async def test_a_file_that_fails_every_pass_is_reported_failed_after_the_last(
    tmp_path: Path, retries: int
) -> None:
    out = tmp_path / "out"
    async with emulator(jobs=2) as emu:
        bad = expected_by_key(emu, main_model_pdf(0))
        fragment = storage_fragment(emu, bad.url)
        emu.script(fragment, *["500"] * 50)
        summary = await run(emu, out, http=replace(FAST_HTTP, max_retries=1), retries=retries)

        assert not summary.ok
        assert summary.failed == 1 and summary.retried_files == min(retries, 1)
        (failure,) = summary.failures
        assert "500" in failure.error
        attempts = [r.status for r in storage_requests(emu) if fragment in r.path]
        assert attempts == [500] * 2 * (1 + retries)  # 1 + max_retries in each pass
        assert _detail_requests(emu, bad.job_id) == 1 + retries
        newest = {e["path"]: e for e in read_manifest(out)}
        assert newest[failure.path]["status"] == "failed"
        assert len(read_manifest(out)) == len(newest)
        assert not (out / failure.path).exists()


async def test_a_job_whose_record_failed_is_planned_again_and_archived_whole(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    async with emulator(jobs=2) as emu:
        job_id = emu.job_ids()[1]
        emu.script(f"/api/v3/jobs/{job_id}?", *["500"] * 3)
        summary = await run(emu, out, http=replace(FAST_HTTP, max_retries=2))

        assert summary.ok, summary.job_failures
        assert summary.jobs == len(emu.job_ids()) and summary.jobs_failed == 0
        assert summary.downloaded == len(emu.expected_files())
        assert summary.retried_files == 0  # its files were fetched once, in the later pass
        assert _detail_requests(emu, job_id) == 4
        assert_complete(out, emu, emu.job_ids())


def test_retries_must_not_be_negative() -> None:
    with pytest.raises(ConfigurationError, match="retries"):
        ArchiveOptions(retries=-1)
