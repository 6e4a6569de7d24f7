"""The Kubernetes example, read as Kubernetes reads it, and its pods run as processes here.

There is no cluster: the test takes the Job's command and environment from
``examples/k8s-indexed-job.yaml`` itself, adds what Kubernetes and the Secrets would (the
completion index, the credentials, the local endpoints), and runs every index against the
emulator and moto's S3, twice: the second run after Hover expired every access token.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import SMALL_SIZES
from tests.objectstore.conftest import S3_KEY_ID, S3_SECRET, s3_env
from tests.support import cli_env

from .helpers import oauth_env

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "k8s-indexed-job.yaml"


def job() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return document


def test_the_job_fails_an_index_at_once_on_a_usage_error_and_retries_the_rest() -> None:
    spec = job()["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["backoffLimitPerIndex"] >= 1
    (rule,) = spec["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailIndex"
    assert rule["onExitCodes"] == {"containerName": "archive", "operator": "In", "values": [2]}
    (container,) = spec["template"]["spec"]["containers"]
    assert container["name"] == "archive"
    assert spec["template"]["spec"]["restartPolicy"] == "Never"  # podFailurePolicy needs it


def _bucket(endpoint: str, name: str) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    )
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if name not in existing:
        client.create_bucket(Bucket=name)


@pytest.mark.timeout(600)
def test_every_index_succeeds_and_again_after_the_access_token_expired(
    moto_endpoint: str, tmp_path: Path
) -> None:
    spec = job()["spec"]
    (container,) = spec["template"]["spec"]["containers"]
    command: list[str] = container["command"]
    env = {e["name"]: e["value"] for e in container["env"]}
    count = spec["completions"]
    assert command[0] == "hoverbentley" and int(env["HOVERBENTLEY_SHARDS"]) == count
    out = command[command.index("archive") + 1]
    _bucket(moto_endpoint, out.removeprefix("s3://").split("/")[0])

    with Emulator.threaded(EmulatorConfig(jobs=6, sizes=SMALL_SIZES)) as emu:
        # What the Secrets and the cluster add: credentials, and here the local endpoints and
        # a profile that lifts Hover's shared quota (16 pods get 100/16 requests a minute each;
        # against the emulator that would only make the test slow).
        config = tmp_path / "config.toml"
        config.write_text("[profile.local]\nrequests_per_minute = 0\n")
        local = {"HOVERBENTLEY_CONFIG": str(config), "HOVERBENTLEY_PROFILE": "local"}
        secrets = {**oauth_env(emu), **s3_env(moto_endpoint), **local}
        base = cli_env(**{**secrets, **env})

        def pod(index: int) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "hoverbentley", *command[1:]],
                env={**base, "JOB_COMPLETION_INDEX": str(index)},
                capture_output=True,
                text=True,
                timeout=300,
            )

        def run_all() -> list[subprocess.CompletedProcess[str]]:
            with ThreadPoolExecutor(max_workers=8) as pool:
                return list(pool.map(pod, range(count)))

        first = run_all()
        assert [r.returncode for r in first] == [0] * count, [r.stderr[-300:] for r in first]
        assert emu.accounts.refreshes == 1  # one refresh for sixteen pods

        emu.accounts.expire_all()  # the next morning: Hover refuses every access token
        second = run_all()
        assert [r.returncode for r in second] == [0] * count, [r.stderr[-300:] for r in second]
        assert emu.accounts.refreshes == 2
        assert all("invalid_grant" not in r.stderr for r in first + second)
