"""``--shard K/N``: a stable partition of the jobs, so N processes archive disjoint parts."""

from __future__ import annotations

import hashlib
import os
from typing import Literal

from ..errors import ConfigurationError

#: One shard of ``count``: ``(index, count)`` with ``0 <= index < count``.
Shard = tuple[int, int]
#: What a shard is made of: whole jobs, or a job's outputs (a huge Bentley job split too).
ShardBy = Literal["job", "output"]
SHARD_BY: tuple[ShardBy, ...] = ("job", "output")


def parse_shard(text: str) -> Shard:
    """``"K/N"`` as a shard (``3/16``: the fourth of sixteen, counted from 0)."""
    index, sep, count = text.partition("/")
    try:
        shard = (int(index), int(count)) if sep else None
    except ValueError:
        shard = None
    if shard is None or not 0 <= shard[0] < shard[1]:
        raise ConfigurationError(f"--shard takes K/N with 0 <= K < N, not {text!r}")
    return shard


def shard_from_env(count: int | None) -> Shard | None:
    """The shard of a Kubernetes Indexed Job: ``JOB_COMPLETION_INDEX`` of ``count`` shards."""
    index = os.environ.get("JOB_COMPLETION_INDEX")
    if count is None or index is None:
        return None
    return parse_shard(f"{index}/{count}")


def in_shard(provider: str, job_id: str, shard: Shard | None) -> bool:
    """Whether job ``job_id`` of ``provider`` belongs to ``shard`` (every job when None).

    The hash is of the job alone, so every process agrees on it whatever order or subset of
    jobs it lists.
    """
    return shard is None or _bucket(f"{provider}/{job_id}", shard[1]) == shard[0]


def owns_file(
    provider: str, job_id: str, part_id: str | None, shard: Shard | None, by: ShardBy = "job"
) -> bool:
    """Whether ``shard`` fetches a file of job ``job_id``'s part ``part_id`` (an output).

    By ``"output"`` the hash is of the job and the output, so one job's outputs spread over
    the shards; a file without a part (a job's record) goes with its job.
    """
    if shard is None:
        return True
    if by == "output" and part_id is not None:
        return _bucket(f"{provider}/{job_id}/{part_id}", shard[1]) == shard[0]
    return in_shard(provider, job_id, shard)


def _bucket(key: str, count: int) -> int:
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def shard_name(shard: Shard) -> str:
    """The name of a shard's manifest and index parts (``shard-00003-of-00016``)."""
    return f"shard-{shard[0]:05d}-of-{shard[1]:05d}"
