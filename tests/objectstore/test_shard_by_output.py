"""``--shard K/N --shard-by output``: one Bentley job's outputs split over N processes."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from hoverbentley.archive.shard import in_shard, owns_file
from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import disk_files
from tests.bentley import test_azurite
from tests.bentley.test_azurite import ACCOUNT, Proxy, _blobs, upload
from tests.support import HB, bentley_env, serve_in_thread

from .conftest import Store
from .helpers import manifest_lines, mirror, objects

azurite = test_azurite.azurite


def blob_gets(proxy: Proxy) -> Counter[str]:
    return Counter(
        r["path"] for r in proxy.requests if r["method"] == "GET" and "comp" not in r["query"]
    )


@pytest.mark.slow
def test_shards_by_output_split_one_job_with_no_blob_fetched_twice(
    azurite: str, s3: Store, tmp_path: Path
) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=0)) as emu:
        itwin = emu.itwin_ids[2]
        job = max(
            (j for j in emu.bentley_jobs() if j["iTwinId"] == itwin and j["state"] == "success"),
            key=lambda j: len(j["jobSettings"]["outputs"]),
        )
        outputs = job["jobSettings"]["outputs"]
        assert len(outputs) >= 2
        rng = random.Random(3)
        for output in outputs:
            asyncio.run(upload(azurite, output["id"], _blobs(rng, 8), md5=True))
        proxy = Proxy(azurite.rsplit("/", 1)[0])
        with serve_in_thread(proxy.app()) as proxy_url:
            emu.bentley.blob_account_url = f"{proxy_url}/{ACCOUNT}"
            env = bentley_env(emu, **s3.env)

            def command(out: str, *args: str) -> list[str]:
                flt = f"iTwinId eq {itwin} and id eq {job['id']}"
                return [*HB, "bentley", "archive", out, "--filter", flt, "--json", "-q", *args]

            local = tmp_path / "local"
            single = subprocess.run(
                command(str(local)), env=env, capture_output=True, text=True, timeout=120
            )
            assert single.returncode == 0, single.stderr
            whole = json.loads(single.stdout)
            lines = manifest_lines(local)
            parts = {e["model_id"] for e in lines.values() if e["kind"] == "output"}
            # The smallest shard count that splits this job's outputs (the hash is stable).
            count = next(
                n
                for n in range(2, 6)
                if len(
                    {
                        k
                        for k in range(n)
                        for p in parts
                        if owns_file("bentley", job["id"], p, (k, n), "output")
                    }
                )
                > 1
            )
            proxy.requests.clear()

            procs = [
                subprocess.Popen(
                    command(s3.url(), "--shard", f"{k}/{count}", "--shard-by", "output"),
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for k in range(count)
            ]
            results = []
            for proc in procs:
                out, err = proc.communicate(timeout=120)
                assert proc.returncode == 0, err
                results.append(json.loads(out))

        # The outputs' blobs were fetched once each, split between more than one shard.
        fetched = blob_gets(proxy)
        assert set(fetched.values()) == {1} and len(fetched) == whole["downloaded"]
        assert sum(r["downloaded"] for r in results) == whole["downloaded"]
        assert len([r for r in results if r["downloaded"]]) > 1

        # Each shard's part holds what it owns; the job's record is in its owner's part only.
        stored = objects(s3)
        record = f"bentley/{job['id']}/job.json"
        owners = [
            k
            for k in range(count)
            if record.encode() in stored.get(f"manifests/shard-{k:05d}-of-{count:05d}.jsonl", b"")
        ]
        owner = [k for k in range(count) if in_shard("bentley", job["id"], (k, count))]
        assert owners == owner
        # Only the owner took the job's index row (and so wrote its record).
        indexes = sorted(k for k in stored if k.startswith("indexes/"))
        assert indexes == [f"indexes/shard-{k:05d}-of-{count:05d}.csv" for k in owner]

    merged = subprocess.run(
        [*HB, "manifest", "merge", s3.url()], env=env, capture_output=True, text=True, timeout=60
    )
    assert merged.returncode == 0, merged.stderr
    copy = mirror(s3, tmp_path / "copy")
    assert manifest_lines(copy) == lines
    assert disk_files(copy) == disk_files(local)
    assert (copy / "index.csv").read_bytes() == (local / "index.csv").read_bytes()


def test_every_output_has_one_owner_and_a_record_goes_with_its_job() -> None:
    for job in range(40):
        for output in ("a", "b", "c"):
            owners = [
                k for k in range(5) if owns_file("bentley", str(job), output, (k, 5), "output")
            ]
            assert len(owners) == 1
        record = [k for k in range(5) if owns_file("bentley", str(job), None, (k, 5), "output")]
        assert record == [k for k in range(5) if in_shard("bentley", str(job), (k, 5))]
    spread = {
        k
        for o in range(20)
        for k in range(4)
        if owns_file("bentley", "1", str(o), (k, 4), "output")
    }
    assert spread == {0, 1, 2, 3}  # one job's outputs reach every shard


def test_an_unknown_shard_by_is_a_usage_error() -> None:
    result = subprocess.run(
        [*HB, "bentley", "archive", "s3://b/p", "--shard", "0/2", "--shard-by", "model"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "--shard-by" in result.stderr
