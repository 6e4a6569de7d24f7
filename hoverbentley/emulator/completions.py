"""Jobs that complete when told: new Hover jobs and Reality Modeling v2 jobs, and their events.

A new Hover job is listed at once, ``processing``, its models' files answering 404; completing
it gives its models their final states (most ``complete``, a few ``failed``, as the generated
jobs have), makes their files downloadable, moves ``updated_at`` to now and posts
``model-state-changed`` for each model, then ``job-state-changed`` with state ``complete``. A
new v2 job is a ``Queued`` Reconstruction held at 0 %; completing it makes it ``Success`` with
its reality data outputs served by the blob host, and posts
``realityModeling.jobCompleted.v2`` (as any v2 job that ends does, see ``V2Store.on_final``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from datetime import datetime, timezone

from .bentley.state import BentleyState
from .bentley.v2_seed import add_held
from .catalog import HoverCatalog
from .notify import Notifier

#: What ``job-state-changed`` says of a completed job.
HOVER_COMPLETE = "complete"


class Completions:
    """Makes new jobs, completes them, and tells the webhooks."""

    def __init__(self, catalog: HoverCatalog, bentley: BentleyState, notifier: Notifier) -> None:
        self.catalog = catalog
        self.bentley = bentley
        self.notifier = notifier
        self._v2_added = 0

    def new_hover_jobs(self, count: int) -> list[int]:
        """``count`` new Hover jobs, processing; their ids."""
        now = datetime.now(timezone.utc)
        return [self.catalog.add_processing(now) for _ in range(count)]

    def new_bentley_jobs(self, count: int) -> list[str]:
        """``count`` new Reality Modeling v2 jobs in the first iTwin, queued and held; ids."""
        itwins = list(self.bentley.catalog.itwins)
        itwin = itwins[0] if itwins else _ITWIN
        ids = []
        for _ in range(count):
            n = self._v2_added
            self._v2_added += 1
            job_id = _guid(f"held-v2-job:{n}")
            add_held(self.bentley.modeling, job_id, itwin, n)
            ids.append(job_id)
        return ids

    def complete_hover(self, job_id: int) -> None:
        """Finish a new Hover job and post its events."""
        if job_id not in self.catalog.processing:
            raise KeyError(f"Hover job {job_id} is not a new job still processing")
        states = self.catalog.complete(job_id, datetime.now(timezone.utc))
        external = self.catalog.jobs[job_id].payload.get("external_identifier")
        for model_id, state in states:
            self.notifier.hover_event(
                "model-state-changed",
                job_id,
                model_id=model_id,
                state=state,
                job_external_identifier=external,
            )
        self.notifier.hover_event(
            "job-state-changed", job_id, state=HOVER_COMPLETE, job_external_identifier=external
        )

    def complete_bentley(self, job_id: str) -> None:
        """Finish a v2 job with ``Success`` (its event goes out as it ends)."""
        store = self.bentley.modeling
        job = store.jobs.get(job_id)
        if job is None or job.state != "Queued" or job.speed != 0:
            raise KeyError(f"v2 job {job_id} is not a new job still held")
        store.set_progress(job, 100.0)
        store.refresh(job)

    async def over_time(
        self, hover: Sequence[int], bentley: Sequence[str], every: float, release: bool = True
    ) -> None:
        """Once a webhook can take events (a verified Hover one, an active Bentley one),
        complete the jobs one by one, Hover and Bentley in turn, one every ``every`` seconds;
        with ``release``, held deliveries go out at each step (a delay of one step)."""
        # Registrations arrive through the routes of both providers: a look every 0.2 s here
        # (the command's path, not the tests') keeps them free of a signal of their own.
        while not self.notifier.has_receivers():  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        pending: list[int | str] = []
        for index in range(max(len(hover), len(bentley))):
            pending += hover[index : index + 1]
            pending += bentley[index : index + 1]
        for job_id in pending:
            await asyncio.sleep(every)
            if release:
                self.notifier.sender.release()
            if isinstance(job_id, int):
                self.complete_hover(job_id)
            else:
                self.complete_bentley(job_id)


_ITWIN = "00000000-0000-4000-8000-000000000000"


def _guid(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-9{digest[17:20]}-{digest[20:32]}"
