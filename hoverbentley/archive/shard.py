"""``--shard K/N``: a stable partition of the jobs, so N processes archive disjoint parts."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Literal

from ..errors import ConfigurationError, HoverBentleyError

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


#: Where array jobs give each process its index: Kubernetes Indexed Jobs, AWS Batch array jobs.
INDEX_VARIABLES = ("JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX")


def shard_from_env(count: int | None) -> Shard | None:
    """The shard of an array job: its index (``JOB_COMPLETION_INDEX`` of a Kubernetes Indexed
    Job, ``AWS_BATCH_JOB_ARRAY_INDEX`` of an AWS Batch array job) of ``count`` shards. A count
    without an index is a :class:`ConfigurationError`: every process would archive it all."""
    if count is None:
        return None
    for variable in INDEX_VARIABLES:
        index = os.environ.get(variable)
        if index is not None:
            try:
                return parse_shard(f"{index.strip()}/{count}")
            except ConfigurationError:
                raise ConfigurationError(
                    f"{variable}={index!r} is not a shard of {count} (0 to {count - 1})"
                ) from None
    raise ConfigurationError(
        f"{count} shards, but which is this one? Neither {' nor '.join(INDEX_VARIABLES)} is"
        " set (a Kubernetes Indexed Job or an AWS Batch array job sets it); or pass --shard K/N"
    )


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


#: A shard's manifest part, as :func:`shard_name` spells it (zero-padded or not).
_PART = re.compile(r"(?:.*/)?shard-(\d+)-of-(\d+)\.jsonl")


class IncompleteShardsError(HoverBentleyError):
    """The manifest parts of a sharded archive are not one part per shard of one count.

    ``problems`` holds one message per finding, as :func:`shard_part_problems` words them.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def shard_part_problems(parts: Iterable[str]) -> list[str]:
    """What is wrong with the set of shard parts among the manifest part names ``parts``
    (``manifests/shard-00001-of-00003.jsonl``; other names, such as the parts of unfinished
    unsharded runs, are not looked at): one message per shard missing, doubled or out of
    range, or one message when the parts disagree on the number of shards. Empty when every
    shard of the count has exactly one part, or when there are no shard parts at all.

    The count N comes from the names alone: a sharded run writes its part even when its shard
    has no jobs, so a part is missing only when its shard never ran (or died before its first
    checkpoint).
    """
    found: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    folder = ""
    for name in parts:
        match = _PART.fullmatch(name)
        if match is not None:
            found[int(match[2])][int(match[1])].append(name)
            folder = name[: match.start(1) - len("shard-")]
    if len(found) > 1:
        counts = ", ".join(
            f"{n} ({_list([p for names in found[n].values() for p in names])})"
            for n in sorted(found)
        )
        return [f"the shard parts disagree on the number of shards: {counts}"]
    problems: list[tuple[int, str]] = []
    for count, shards in found.items():
        for index, names in shards.items():
            if index >= count:
                problems.append((index, f"there is no shard {index} of {count}: {_list(names)}"))
            elif len(names) > 1:
                text = f"shard {index} of {count} has {len(names)} parts: {_list(names)}"
                problems.append((index, text))
        named = list(itertools.islice(_absent(count, shards), _NAMED))
        for index in named:
            name = f"{folder}{shard_name((index, count))}.jsonl"
            problems.append((index, f"shard {index} of {count} is missing: {name}"))
        more = count - sum(i < count for i in shards) - len(named)
        if more:
            problems.append((count, f"and {more} more shards of {count} are missing"))
    return [text for _, text in sorted(problems)]


#: Missing shards named one by one; beyond them, a count.
_NAMED = 100


def _list(names: list[str]) -> str:
    return ", ".join(sorted(names))


def _absent(count: int, present: Iterable[int]) -> Iterator[int]:
    """The shards of ``count`` not in ``present``, in order (without walking the present)."""
    previous = -1
    for index in [*sorted(i for i in present if i < count), count]:
        yield from range(previous + 1, index)
        previous = index
