"""What stops a run while it plans jobs: the run's setup (credentials, the token store) ends
it at the first job, as it would end the listing; anything about one job's data fails that
job alone, and the others are archived."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hoverbentley.archive import ArchiveOptions, archive
from hoverbentley.archive.plan import JobPlan
from hoverbentley.bentley.listing import id_segment
from hoverbentley.errors import ConfigurationError, CredentialsError, HoverBentleyError

pytestmark = pytest.mark.anyio


class Source:
    """Three jobs without files; planning job ``b`` raises ``error``."""

    provider = "bentley"

    def __init__(self, error: HoverBentleyError | None) -> None:
        self.error = error
        self.planned: list[str] = []

    async def job_ids(self) -> AsyncIterator[str]:
        for job_id in ("a", "b", "c"):
            yield job_id

    async def plan(self, job_id: str) -> JobPlan:
        self.planned.append(job_id)
        if job_id == "b":
            if self.error is None:
                id_segment("..")  # an output id in the job's data that names no object
            raise self.error
        return JobPlan("bentley", job_id, b"{}", f"https://api.example/jobs/{job_id}", [])

    async def fetch(self, file: object, writer: object) -> object:
        raise AssertionError("no files")


async def test_a_usage_error_in_one_jobs_data_fails_that_job_alone(tmp_path: Path) -> None:
    source = Source(None)
    summary = await archive(source, tmp_path / "out", ArchiveOptions(detail_concurrency=1))
    assert source.planned[:3] == ["a", "b", "c"]
    assert [(f.job_id, f.error) for f in summary.job_failures] == [("b", "'..' is no id")]
    assert (tmp_path / "out" / "bentley" / "c" / "job.json").exists()


async def test_credentials_that_cannot_be_used_stop_the_run_at_the_first_job(
    tmp_path: Path,
) -> None:
    source = Source(CredentialsError("token file t.json is not valid"))
    with pytest.raises(CredentialsError, match=r"token file t\.json is not valid"):
        await archive(source, tmp_path / "out", ArchiveOptions(detail_concurrency=1))
    assert source.planned == ["a", "b"]  # c is never planned
    assert isinstance(CredentialsError("x"), ConfigurationError)  # exit 2 on the command line
