"""Machines with no shared disk share one Hover authorization through a token in a bucket.

Real CLI processes, started together, against the emulator and moto's S3: one refresh for all,
the others waited on the lease and used the winner's token.
"""

from __future__ import annotations

import json
import subprocess

import boto3
import pytest
from botocore.exceptions import ClientError

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.objectstore.conftest import S3_KEY_ID, S3_SECRET, Store
from tests.support import HB

from .helpers import WAITING, expired_tokens, oauth_env, start_together

pytest.importorskip("obstore")


def s3_client(store: Store) -> object:
    return boto3.client(
        "s3",
        endpoint_url=store.endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    )


def test_the_bucket_refuses_a_put_with_a_stale_etag(s3: Store) -> None:
    client = s3_client(s3)
    first = client.put_object(Bucket=s3.name, Key="fleet/token.json", Body=b"one")  # type: ignore[attr-defined]
    client.put_object(Bucket=s3.name, Key="fleet/token.json", Body=b"two")  # type: ignore[attr-defined]
    with pytest.raises(ClientError) as caught:
        client.put_object(  # type: ignore[attr-defined]
            Bucket=s3.name, Key="fleet/token.json", Body=b"stale", IfMatch=first["ETag"]
        )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


@pytest.mark.timeout(300)
def test_four_processes_sharing_a_token_in_a_bucket_refresh_once(s3: Store) -> None:
    client = s3_client(s3)
    with Emulator.threaded(EmulatorConfig(jobs=2, token_delay=0.2)) as emu:
        client.put_object(  # type: ignore[attr-defined]
            Bucket=s3.name, Key="fleet/token.json", Body=expired_tokens(emu.config.refresh_token)
        )
        url = f"s3://{s3.name}/fleet/token.json"
        command = [*HB, "-v", "hover", "jobs", "--json", "--token-store", url]
        results = start_together(emu, command, oauth_env(emu, **s3.env), 4)

        assert [r.returncode for r in results] == [0] * 4, [r.stderr[-400:] for r in results]
        assert emu.accounts.refreshes == 1
        assert sum(WAITING in r.stderr for r in results) >= 2
        stored = client.get_object(Bucket=s3.name, Key="fleet/token.json")  # type: ignore[attr-defined]
        assert json.loads(stored["Body"].read())["refresh_token"] == emu.refresh_token
        keys = client.list_objects_v2(Bucket=s3.name, Prefix="fleet/")  # type: ignore[attr-defined]
        assert [o["Key"] for o in keys["Contents"]] == ["fleet/token.json"]  # the lease is gone
        assert all(S3_SECRET not in r.stderr and "invalid_grant" not in r.stderr for r in results)


def test_a_token_store_url_without_an_object_is_a_usage_error(s3: Store) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=1)) as emu:
        result = subprocess.run(
            [*HB, "hover", "jobs", "--token-store", f"gs://{s3.name}/fleet/token.json"],
            env=oauth_env(emu, **s3.env),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2, result.stderr
    assert "Google Cloud Storage is not supported yet" in result.stderr


@pytest.mark.parametrize(
    "url", ["s3://bucket", "s3://bucket/", "s3://bucket/auth/", "file:///tmp/token.json"]
)
def test_a_token_store_url_must_name_an_object_in_a_bucket(url: str) -> None:
    from hoverbentley.auth import ObjectTokenStore, TokenStoreError

    with pytest.raises(TokenStoreError, match="name the token object"):
        ObjectTokenStore.from_url(url)
