"""Open S3 multipart uploads listed and aborted (hoverbentley.stores.s3_uploads).

Against moto, with boto3 as the oracle: uploads begun by obstore's writer and left open, by
this process or by one killed with SIGKILL. The requests' signatures are checked by a second
moto that enforces authentication (the shared one accepts any signature), and the paging of
ListMultipartUploads and the times it gives (moto gives neither) by a stand-in server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import obstore
import pytest
from aiohttp import web
from obstore.store import S3Store

from hoverbentley.archive.destination import ArchiveWriteError
from hoverbentley.stores.s3_uploads import (
    OpenUpload,
    S3UploadsError,
    abort_upload,
    abort_uploads,
    list_uploads,
)
from tests.processes import free_port, running

from .conftest import S3_KEY_ID, S3_SECRET, Store, uploads_in_progress

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024
PART = 5 * MiB
#: More than two parts: the writer has begun the upload and sent parts when it returns.
BODY = b"\x00" * (2 * PART + 123)
PREFIX = "archive"


def boto3_client(endpoint: str, key_id: str = S3_KEY_ID, secret: str = S3_SECRET) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


def oracle(client: Any, bucket: str) -> list[tuple[str, str]]:
    """boto3's (key, upload id) of every open upload in ``bucket``."""
    uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return sorted((u["Key"], u["UploadId"]) for u in uploads)


def wait_for_parts(client: Any, bucket: str, timeout: float = 30) -> tuple[str, str]:
    """The (key, upload id) of the one open upload in ``bucket``, once a part of it is stored
    (obstore's flush does not wait for the parts in flight)."""
    deadline = time.monotonic() + timeout
    while True:
        uploads = oracle(client, bucket)
        if len(uploads) == 1:
            key, upload_id = uploads[0]
            if client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id).get("Parts"):
                return key, upload_id
        assert len(uploads) <= 1, uploads
        assert time.monotonic() < deadline, f"no part stored in {timeout} s: {uploads}"
        time.sleep(0.05)


async def start_upload(store: S3Store, key: str) -> Any:
    """obstore's writer at ``key`` with more than two parts sent, left open."""
    writer = obstore.open_writer_async(store, key, buffer_size=PART, max_concurrency=2)
    await writer.write(BODY)
    await writer.flush()
    return writer


async def test_an_upload_left_open_is_listed_then_aborted(s3: Store) -> None:
    store = S3Store(s3.name, prefix=PREFIX)
    key = "job 1/model~+é.zip"  # characters that a signature must encode as S3 does
    writer = await start_upload(store, key)
    client = boto3_client(s3.endpoint)
    full_key, upload_id = await anyio.to_thread.run_sync(wait_for_parts, client, s3.name)
    assert full_key == f"{PREFIX}/{key}"

    (found,) = await list_uploads(store)
    assert (found.key, found.upload_id) == (key, upload_id)
    assert found.initiated is not None and found.initiated.tzinfo is not None
    assert await list_uploads(store, "job 1/") == [found]
    assert await list_uploads(store, "job 2/") == []

    assert await abort_upload(store, key, upload_id) is True
    assert uploads_in_progress(s3) == 0
    # Aborting again is harmless: S3 no longer knows the upload.
    assert await abort_upload(store, key, upload_id) is False
    del writer  # never closed: as after a crash


KILLED_WRITER = """
import asyncio, sys
import obstore
from obstore.store import S3Store

async def main() -> None:
    store = S3Store(sys.argv[1], prefix=sys.argv[2])
    writer = obstore.open_writer_async(store, sys.argv[3], buffer_size=5 * 1024 * 1024)
    await writer.write(b"\\0" * (11 * 1024 * 1024))
    await writer.flush()
    print("parts sent", flush=True)
    await asyncio.sleep(100)

asyncio.run(main())
"""


async def test_an_upload_of_a_process_killed_with_sigkill_is_found_and_aborted(
    s3: Store,
) -> None:
    key = "job-2/big.bin"
    client = boto3_client(s3.endpoint)
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, s3.name, PREFIX, key],
        stdout=subprocess.PIPE,
        text=True,
    ) as writer:
        try:
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == "parts sent"
            full_key, upload_id = wait_for_parts(client, s3.name)
        finally:
            os.kill(writer.pid, signal.SIGKILL)
            writer.wait(timeout=30)
        assert writer.returncode == -signal.SIGKILL
    assert oracle(client, s3.name) == [(full_key, upload_id)]
    assert full_key == f"{PREFIX}/{key}"

    store = S3Store(s3.name, prefix=PREFIX)
    assert [(u.key, u.upload_id) for u in await list_uploads(store)] == [(key, upload_id)]
    aborted = await abort_uploads(store, [key])
    assert [(u.key, u.upload_id) for u in aborted] == [(key, upload_id)]
    assert oracle(client, s3.name) == []


async def test_only_the_uploads_of_the_named_keys_are_aborted(s3: Store) -> None:
    client = boto3_client(s3.endpoint)

    def begin(full_key: str) -> str:
        upload_id: str = client.create_multipart_upload(Bucket=s3.name, Key=full_key)["UploadId"]
        return upload_id

    mine = [begin(f"{PREFIX}/a/f.bin"), begin(f"{PREFIX}/a/f.bin")]
    # A longer key, another shard's key, and the same key under another prefix: all spared.
    spared = {
        (f"{PREFIX}/a/f.bin.1", begin(f"{PREFIX}/a/f.bin.1")),
        (f"{PREFIX}/b/g.bin", begin(f"{PREFIX}/b/g.bin")),
        (f"{PREFIX}2/a/f.bin", begin(f"{PREFIX}2/a/f.bin")),
    }
    store = S3Store(s3.name, prefix=PREFIX)
    assert {u.key for u in await list_uploads(store)} == {"a/f.bin", "a/f.bin.1", "b/g.bin"}

    aborted = await abort_uploads(store, ["a/f.bin", "never/begun.bin"])
    assert sorted(u.upload_id for u in aborted) == sorted(mine)
    assert set(oracle(client, s3.name)) == spared
    assert await abort_uploads(store, []) == []


# A moto that checks every request's signature against the IAM user's secret.


@dataclass(frozen=True)
class SigningS3:
    endpoint: str
    key_id: str
    secret: str

    def env(self, **changes: str) -> dict[str, str]:
        env = {
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_REGION": "us-east-1",
        }
        env.update(changes)
        return env


@pytest.fixture(scope="module")
def signing_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigningS3]:
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    import boto3

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    workdir = tmp_path_factory.mktemp("moto-signing")
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with running(command, port, workdir / "moto.log"):
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="setup",
            aws_secret_access_key="setup",  # not checked: authentication is not on yet
        )
        iam.create_user(UserName="archiver")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }
        iam.put_user_policy(UserName="archiver", PolicyName="s3", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="archiver")["AccessKey"]
        # From now on moto authenticates every request (0 requests without).
        request = urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        yield SigningS3(endpoint, key["AccessKeyId"], key["SecretAccessKey"])


@pytest.fixture
def signing_bucket(signing_s3: SigningS3, monkeypatch: pytest.MonkeyPatch) -> str:
    import secrets

    name = f"hb-{secrets.token_hex(6)}"
    boto3_client(signing_s3.endpoint, signing_s3.key_id, signing_s3.secret).create_bucket(
        Bucket=name
    )
    for variable, value in signing_s3.env().items():
        monkeypatch.setenv(variable, value)
    return name


@pytest.mark.parametrize("source", ["environment", "config", "credential_provider"])
async def test_requests_carry_a_signature_that_s3_accepts(
    signing_s3: SigningS3, signing_bucket: str, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if source == "environment":
        store = S3Store(signing_bucket, prefix=PREFIX)
    else:
        for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.delenv(variable)
    if source == "config":
        store = S3Store(
            signing_bucket,
            prefix=PREFIX,
            config={"access_key_id": signing_s3.key_id, "secret_access_key": signing_s3.secret},
        )
    elif source == "credential_provider":

        async def credentials() -> Any:
            return {
                "access_key_id": signing_s3.key_id,
                "secret_access_key": signing_s3.secret,
                "token": None,
                "expires_at": None,
            }

        store = S3Store(signing_bucket, prefix=PREFIX, credential_provider=credentials)
    key = "job 3/a b~+é(1).bin"  # encoded in the signature as S3 encodes it
    writer = await start_upload(store, key)
    client = boto3_client(signing_s3.endpoint, signing_s3.key_id, signing_s3.secret)
    _, upload_id = await anyio.to_thread.run_sync(wait_for_parts, client, signing_bucket)

    assert [u.upload_id for u in await list_uploads(store, "job 3/")] == [upload_id]
    assert [u.key for u in await list_uploads(store)] == [key]
    assert await abort_upload(store, key, upload_id) is True
    assert oracle(client, signing_bucket) == []
    del writer


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"AWS_SECRET_ACCESS_KEY": "not-the-secret-4f1d9c"}, "SignatureDoesNotMatch"),
        ({"AWS_ACCESS_KEY_ID": "AKIANOSUCHKEY0000000"}, "InvalidAccessKeyId"),
    ],
)
async def test_bad_credentials_are_a_typed_error_naming_the_store_without_the_secret(
    signing_s3: SigningS3,
    signing_bucket: str,
    change: dict[str, str],
    code: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable, value in change.items():
        monkeypatch.setenv(variable, value)
    store = S3Store(signing_bucket, prefix=PREFIX)
    for attempt in (list_uploads(store), abort_upload(store, "a.bin", "some-upload")):
        with pytest.raises(S3UploadsError) as caught:
            await attempt
        error = caught.value
        assert isinstance(error, ArchiveWriteError)
        assert (error.status, error.code) == (403, code)
        assert error.store == f"s3://{signing_bucket}/{PREFIX}"
        text = f"{error} {error!r}"
        assert str(error).startswith(f"s3://{signing_bucket}/{PREFIX}: cannot ")
        assert code in text
        secret = os.environ["AWS_SECRET_ACCESS_KEY"]
        assert secret not in text and "Signature=" not in text


async def test_without_an_access_key_nothing_is_sent_and_the_error_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    # An endpoint nobody listens on: reaching it would be a connection error instead.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    with pytest.raises(S3UploadsError, match=r"^s3://bkt/archive: .*AWS_ACCESS_KEY_ID"):
        await list_uploads(S3Store("bkt", prefix=PREFIX))


async def test_plain_http_is_refused_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.delenv("AWS_ALLOW_HTTP", raising=False)
    with pytest.raises(S3UploadsError, match="AWS_ALLOW_HTTP") as caught:
        await list_uploads(S3Store("bkt"))
    assert caught.value.status is None


# A stand-in server for what moto does not do: pages, the time each upload began, and a
# check of each request against botocore (its signature, and boto3's encoding of a key).

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
TOKEN = "session-token/with+odd=chars"
ODD = "a b~+é(1).bin"


def page(uploads: list[tuple[str, str, str]], next_markers: tuple[str, str] | None) -> str:
    items = "".join(
        f"<Upload><Key>{k}</Key><UploadId>{u}</UploadId><Initiated>{t}</Initiated></Upload>"
        for k, u, t in uploads
    )
    more = (
        f"<IsTruncated>true</IsTruncated><NextKeyMarker>{next_markers[0]}</NextKeyMarker>"
        f"<NextUploadIdMarker>{next_markers[1]}</NextUploadIdMarker>"
        if next_markers
        else "<IsTruncated>false</IsTruncated>"
    )
    body = f"<Bucket>b</Bucket>{items}{more}"
    return f'<ListMultipartUploadsResult xmlns="{NS}">{body}</ListMultipartUploadsResult>'


def botocore_signature(request: web.Request) -> str:
    """The signature botocore computes for ``request`` as received (None: not SigV4)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = request.headers["Authorization"]
    signed = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    headers = {name: request.headers[name] for name in signed}
    copy = AWSRequest(
        method=request.method, url=f"http://{request.host}{request.raw_path}", headers=headers
    )
    copy.context["timestamp"] = request.headers["x-amz-date"]
    auth = S3SigV4Auth(Credentials(S3_KEY_ID, S3_SECRET, TOKEN), "s3", "us-east-1")
    signature: str = auth.signature(auth.string_to_sign(copy, auth.canonical_request(copy)), copy)
    return signature


async def test_pages_times_and_signatures_as_botocore_makes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pages = {
        "": page(
            [
                (f"archive/{ODD}", "u1", "2026-01-01T10:00:00.000Z"),
                (f"archive/{ODD}", "u2", "2026-01-01T12:00:00.000Z"),
            ],
            (f"archive/{ODD}", "u2"),
        ),
        f"archive/{ODD}|u2": page([("archive/b.bin", "u3", "2026-01-01T09:00:00.000Z")], None),
    }
    seen: list[dict[str, str]] = []
    deleted: list[tuple[str, str, str]] = []  # raw path, key, upload id
    listed_at: list[str] = []
    boto3_listed: list[str] = []

    def check(request: web.Request) -> None:
        authorization = request.headers["Authorization"]
        assert authorization.endswith(f"Signature={botocore_signature(request)}")
        assert request.headers["x-amz-security-token"] == TOKEN

    async def listing(request: web.Request) -> web.Response:
        if "boto3" in request.headers.get("User-Agent", "").lower():
            boto3_listed.append(request.raw_path.split("?", 1)[0])
            return web.Response(body=pages[""].encode(), content_type="application/xml")
        check(request)
        assert "uploads" in request.query
        listed_at.append(request.raw_path.split("?", 1)[0])
        seen.append(dict(request.query))
        marker = request.query.get("key-marker", "")
        if marker:
            marker += "|" + request.query["upload-id-marker"]
        return web.Response(body=pages[marker].encode(), content_type="application/xml")

    async def abort(request: web.Request) -> web.Response:
        if "boto3" not in request.headers.get("User-Agent", "").lower():
            check(request)
        path = request.raw_path.split("?", 1)[0]
        deleted.append((path, request.match_info["key"], request.query["uploadId"]))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/b", listing)
    app.router.add_delete("/b/{key:.+}", abort)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY_ID)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
        monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
        store = S3Store("b", prefix=PREFIX)
        listed = await list_uploads(store)
        assert [(u.key, u.upload_id) for u in listed] == [(ODD, "u1"), (ODD, "u2"), ("b.bin", "u3")]
        assert listed[0] == OpenUpload(ODD, "u1", datetime(2026, 1, 1, 10, tzinfo=timezone.utc))
        assert [q["prefix"] for q in seen] == ["archive/", "archive/"]
        assert seen[1]["key-marker"] == f"archive/{ODD}"

        cutoff = datetime(2026, 1, 1, 11, tzinfo=timezone.utc)
        aborted = await abort_uploads(store, [ODD], initiated_before=cutoff)
        assert [u.upload_id for u in aborted] == ["u1"]
        assert aborted[0].initiated == cutoff - timedelta(hours=1)
        # The key's path is the one boto3 sends for the same abort.
        await anyio.to_thread.run_sync(
            lambda: boto3_client(f"http://127.0.0.1:{port}").abort_multipart_upload(
                Bucket="b", Key=f"archive/{ODD}", UploadId="u1"
            )
        )
        ours, boto3s = deleted
        assert ours == boto3s
        assert ours[1:] == (f"archive/{ODD}", "u1")
        # So is the bucket's path of the listing.
        await anyio.to_thread.run_sync(
            lambda: boto3_client(f"http://127.0.0.1:{port}").list_multipart_uploads(Bucket="b")
        )
        assert set(listed_at) == set(boto3_listed) == {"/b"}
    finally:
        await runner.cleanup()
