"""Which shards' manifest parts are missing, doubled or of another count: from the names alone."""

from __future__ import annotations

import pytest

from hoverbentley.archive.merge import check_shards
from hoverbentley.archive.shard import IncompleteShardsError, shard_name, shard_part_problems


def part(k: int, n: int) -> str:
    return f"manifests/{shard_name((k, n))}.jsonl"


def test_every_shard_once_is_complete() -> None:
    assert shard_part_problems([part(k, 3) for k in (2, 0, 1)]) == []


def test_no_shard_parts_is_complete() -> None:
    assert shard_part_problems([]) == []
    # The parts of unsharded runs that did not finish are no shards.
    assert shard_part_problems(["manifests/run-00000000001700000000-ab12cd34-00000.jsonl"]) == []


def test_a_missing_shard_is_named_with_the_part_it_would_have_written() -> None:
    parts = [part(0, 3), part(2, 3), "manifests/run-1-00000.jsonl"]
    assert shard_part_problems(parts) == [
        "shard 1 of 3 is missing: manifests/shard-00001-of-00003.jsonl"
    ]


def test_each_missing_shard_is_named_in_order() -> None:
    assert shard_part_problems([part(1, 4)]) == [
        f"shard {k} of 4 is missing: {part(k, 4)}" for k in (0, 2, 3)
    ]


def test_a_doubled_shard_names_both_parts() -> None:
    # Copied into a local archive by hand, once as the run named it and once without padding.
    parts = [part(0, 2), part(1, 2), "manifests/shard-1-of-2.jsonl"]
    assert shard_part_problems(parts) == [
        "shard 1 of 2 has 2 parts: manifests/shard-00001-of-00002.jsonl,"
        " manifests/shard-1-of-2.jsonl"
    ]


def test_parts_that_disagree_on_the_count_are_one_problem_naming_every_part() -> None:
    parts = [part(0, 2), part(1, 2), part(0, 3)]
    assert shard_part_problems(parts) == [
        "the shard parts disagree on the number of shards:"
        f" 2 ({part(0, 2)}, {part(1, 2)}), 3 ({part(0, 3)})"
    ]


def test_a_shard_beyond_the_count_is_named() -> None:
    parts = [part(0, 2), part(1, 2), "manifests/shard-2-of-2.jsonl"]
    assert shard_part_problems(parts) == ["there is no shard 2 of 2: manifests/shard-2-of-2.jsonl"]


def test_a_huge_count_names_the_first_missing_shards_and_counts_the_rest() -> None:
    problems = shard_part_problems([part(0, 10**9)])
    assert len(problems) == 101
    assert problems[0] == f"shard 1 of {10**9} is missing: {part(1, 10**9)}"
    assert problems[-1] == f"and {10**9 - 101} more shards of {10**9} are missing"


def test_the_check_raises_unless_partial_is_allowed() -> None:
    parts = [part(0, 3), part(2, 3)]
    with pytest.raises(IncompleteShardsError) as raised:
        check_shards(parts, allow_partial=False)
    assert str(raised.value) == "shard 1 of 3 is missing: manifests/shard-00001-of-00003.jsonl"
    assert raised.value.problems == [str(raised.value)]
    assert check_shards(parts, allow_partial=True) == [str(raised.value)]
    assert check_shards([part(0, 1)], allow_partial=False) == []
