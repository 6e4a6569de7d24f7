"""``--shard K/N``: a stable partition of the jobs, so N processes archive disjoint parts."""

from __future__ import annotations

import hashlib
import os

from ..errors import ConfigurationError

#: One shard of ``count``: ``(index, count)`` with ``0 <= index < count``.
Shard = tuple[int, int]


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
    if shard is None:
        return True
    digest = hashlib.sha256(f"{provider}/{job_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % shard[1] == shard[0]


def shard_name(shard: Shard) -> str:
    """The name of a shard's manifest and index parts (``shard-00003-of-00016``)."""
    return f"shard-{shard[0]:05d}-of-{shard[1]:05d}"
