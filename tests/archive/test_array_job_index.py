"""The shard of an array job comes from its index: Kubernetes or AWS Batch."""

from __future__ import annotations

import pytest

from hoverbentley.archive.shard import shard_from_env
from hoverbentley.errors import ConfigurationError


@pytest.mark.parametrize("variable", ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"])
def test_the_index_of_either_kind_of_array_job_is_the_shard(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOB_COMPLETION_INDEX", raising=False)
    monkeypatch.delenv("AWS_BATCH_JOB_ARRAY_INDEX", raising=False)
    monkeypatch.setenv(variable, "3")
    assert shard_from_env(16) == (3, 16)
    assert shard_from_env(None) is None  # no count: not sharded
    monkeypatch.setenv(variable, "16")
    with pytest.raises(ConfigurationError, match=f"{variable}='16' is not a shard of 16"):
        shard_from_env(16)


def test_a_count_without_an_index_is_refused_not_a_whole_archive_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JOB_COMPLETION_INDEX", raising=False)
    monkeypatch.delenv("AWS_BATCH_JOB_ARRAY_INDEX", raising=False)
    with pytest.raises(ConfigurationError, match="4 shards, but which is this one"):
        shard_from_env(4)
