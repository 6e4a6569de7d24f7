"""How the ``bentley`` commands print a job of either API version."""

from __future__ import annotations

import sys

import msgspec

from .._core.text import printable
from .._core.times import as_utc_text
from ..bentley import models as v1
from ..bentley import v2_models as v2

Job = v1.Job | v2.Job


def write_json(job: Job) -> None:
    """The job as one JSON line on stdout."""
    sys.stdout.buffer.write(msgspec.json.encode(job) + b"\n")


def list_line(job: Job) -> str:
    """One tab-separated line of ``bentley jobs``: id, state, type, created (UTC, one form
    whatever the service wrote), name."""
    if isinstance(job, v1.Job):
        created: str | None = job.created_date_time
    else:
        created = job.execution_info.created_date_time if job.execution_info else None
    cells = (job.id, job.state, job.type, as_utc_text(created), job.name)
    return "\t".join(printable(str(c)) for c in cells)


def describe(job: Job) -> list[str]:
    """The lines of ``bentley job ID``."""
    if isinstance(job, v1.Job):
        lines = [
            f"job {job.id}: {job.name} [{job.state}] {job.type}",
            f"  iTwin {job.i_twin_id or '-'}  workspace {job.workspace_id}",
            f"  created {as_utc_text(job.created_date_time)}"
            f"  modified {as_utc_text(job.last_modified_date_time)}",
        ]
        settings = job.job_settings
        for output in (settings.outputs or []) if settings else []:
            lines.append(f"  output {output.format}: {output.id or 'not produced'}")
        return [printable(line) for line in lines]
    info = job.execution_info or v2.ExecutionInfo()
    lines = [
        f"job {job.id}: {job.name} [{job.state}] {job.type}",
        f"  iTwin {job.i_twin_id}  user {job.user_id or '-'}",
        f"  created {as_utc_text(info.created_date_time)}"
        f"  started {as_utc_text(info.started_date_time) or '-'}"
        f"  ended {as_utc_text(info.ended_date_time) or '-'}",
    ]
    if info.processing_units is not None:
        lines.append(f"  processing units {info.processing_units:g}")
    for name, location in job.output_ids().items():
        lines.append(f"  output {name}: {location}")
    return [printable(line) for line in lines]


def succeeded(job: Job) -> bool:
    """Whether the job ended in success (``success`` in v1, ``Success`` in v2)."""
    return job.state == ("success" if isinstance(job, v1.Job) else "Success")


def finished(job: Job) -> bool:
    """Whether the job reached a final state."""
    return job.state in (v1.FINAL_STATES if isinstance(job, v1.Job) else v2.FINAL_STATES)
