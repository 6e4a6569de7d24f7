"""N processes of a Kubernetes Indexed Job archive disjoint shards into one store."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from hoverbentley.archive.shard import in_shard, parse_shard
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.errors import ConfigurationError
from tests.archive.helpers import SMALL_SIZES, assert_complete, file_requests
from tests.archive.test_cli_archive import env_for, summary_of

from .conftest import Store
from .helpers import mirror, objects
from .test_cli_store import command

SHARDS = 3


@pytest.mark.slow
def test_indexed_job_shards_make_the_whole_archive_with_no_file_fetched_twice(
    s3: Store, tmp_path: Path
) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=12, sizes=SMALL_SIZES)) as emu:
        procs = [
            subprocess.Popen(
                command(s3.url()),
                env=env_for(
                    emu, **s3.env, JOB_COMPLETION_INDEX=str(k), HOVERBENTLEY_SHARDS=str(SHARDS)
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for k in range(SHARDS)
        ]
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
        jobs = emu.job_ids(archived=False)
        expected = [f for j in jobs for f in emu.expected_files(j)]
        assert sum(r["jobs"] for r in results) == len(jobs)
        assert sum(r["files"] for r in results) == len(expected)
        assert all(r["jobs"] > 0 for r in results)  # each shard had work

        # Every file crossed the network once, fetched by one shard.
        fetched = Counter((r.path, r.query_string) for r in file_requests(emu))
        assert fetched and set(fetched.values()) == {1}

        # One manifest part per shard; no path in two of them.
        store = objects(s3)
        parts = sorted(k for k in store if k.startswith("manifests/"))
        assert parts == [f"manifests/shard-{k:05d}-of-{SHARDS:05d}.jsonl" for k in range(SHARDS)]
        paths = [json.loads(line)["path"] for p in parts for line in store[p].splitlines()]
        assert len(paths) == len(set(paths)) == len(expected) + len(jobs)

        # A shard run again alone finds its part complete.
        mark = len(emu.requests)
        alone = subprocess.run(
            [*command(s3.url()), "--shard", f"1/{SHARDS}"],
            env=env_for(emu, **s3.env),
            capture_output=True,
            text=True,
        )
        assert alone.returncode == 0, alone.stderr
        rerun = summary_of(alone)
        assert (rerun["downloaded"], rerun["skipped"]) == (0, results[1]["files"])
        assert file_requests(emu, mark) == []

        # An unsharded reader sees the whole: nothing left to fetch, one compact manifest.
        result = subprocess.run(
            command(s3.url()), env=env_for(emu, **s3.env), capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        again = summary_of(result)
        assert again["downloaded"] == 0 and again["skipped"] == len(expected)
        assert_complete(mirror(s3, tmp_path / "copy"), emu, jobs, expected=expected)


def test_the_shard_of_a_job_is_stable_and_every_job_has_exactly_one() -> None:
    for job in range(200):
        owners = [k for k in range(7) if in_shard("hover", str(job), (k, 7))]
        assert len(owners) == 1
    assert parse_shard("3/16") == (3, 16)
    for bad in ("16/16", "-1/4", "a/b", "3", "3/0"):
        with pytest.raises(ConfigurationError):
            parse_shard(bad)


def test_a_sharded_run_into_a_local_directory_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [*command(str(tmp_path / "out")), "--shard", "0/2"],
        env=env_for(None),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "object store" in result.stderr
