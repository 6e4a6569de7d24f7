"""Polling a job: the last poll comes at --max-wait, not one interval before it."""

from __future__ import annotations

import re
import time

import pytest

from hoverbentley.bentley.polling import poll_progress
from hoverbentley.errors import APITimeoutError

pytestmark = pytest.mark.anyio


class Job:
    """Progress that reaches 100 on poll number ``done_at`` (never, when 0)."""

    def __init__(self, done_at: int = 0) -> None:
        self.done_at = done_at
        self.polls = 0

    async def fetch(self) -> int:
        self.polls += 1
        return 100 if self.polls == self.done_at else 10


def poll(job: Job, max_wait: float, intervals: tuple[float, ...] = (60.0,)) -> object:
    return poll_progress(
        job.fetch,
        percentage=float,
        finished=lambda p: p == 100,
        describe=lambda p: f"{p}%",
        name="job j",
        url="http://x/jobs/j/progress",
        max_wait=max_wait,
        intervals=intervals,
    )


async def test_a_job_done_by_the_deadline_is_seen_done_though_the_interval_is_longer() -> None:
    job = Job(done_at=2)
    assert await poll(job, max_wait=0.2) == 100
    assert job.polls == 2


async def test_giving_up_comes_after_max_wait_with_the_time_waited() -> None:
    job = Job()
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        await poll(job, max_wait=0.2)
    assert time.monotonic() - started >= 0.2
    assert job.polls == 2  # the first, and one at the deadline
    said = re.fullmatch(r"job j still running after (\d+\.\d) s \(10%\)", caught.value.message)
    assert said is not None and float(said[1]) >= 0.2
