"""One store seam: every location goes through ``open_store``'s table of schemes.

A scheme that is not in the table, a store without an account or credentials, a bucket that
does not exist: one line naming the store and what is missing, exit status 2, and nothing
written anywhere (never a traceback, never a local directory named after the URL).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hoverbentley.stores import (
    PreconditionFailed,
    Store,
    StoreUnavailable,
    open_store,
    parse_location,
)
from tests.processes import free_port
from tests.support import HB, cli_env

from .conftest import S3_SECRET
from .conftest import Store as Bucket

pytestmark = pytest.mark.anyio

#: The environment of a process that has no cloud credentials at all. The instance metadata
#: service is pointed at a closed local port, so the credential chain fails at once.
_CLOUD = ("AWS_", "AZURE_", "GOOGLE_")


def bare_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in cli_env().items() if not k.startswith(_CLOUD)}
    env["AWS_METADATA_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    env.update(values)
    return env


def commands(url: str) -> list[list[str]]:
    """Every command that takes OUT: the archive, verify and manifest merge."""
    archive = [*HB, "hover", "archive", url, "--job", "15084303", "--base-url"]
    return [
        [*archive, f"http://127.0.0.1:{free_port()}", "--retries", "0"],
        [*HB, "verify", url],
        [*HB, "manifest", "merge", url],
    ]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {"HOVER_TOKEN": "t", "HOVER_CURRENT_USER_EMAIL": "ops@example.com", **env}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("S3://bucket/prefix", "S3:// (schemes are lowercase: s3://)"),
        ("Az://container/prefix", "Az:// (schemes are lowercase: az://)"),
        ("https://example.com/prefix", "https://"),
        ("gcs://bucket/prefix", "gcs://"),
        ("ftp://host/prefix", "ftp://"),
    ],
)
def test_an_unknown_scheme_is_a_usage_error_and_writes_nothing(
    url: str, named: str, tmp_path: Path
) -> None:
    for command in commands(url):
        result = run(command, tmp_path, bare_env())
        assert result.returncode == 2, (command, result.stderr)
        assert f"unknown store scheme {named}" in result.stderr
        assert "s3://, az://, gs://" in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert list(tmp_path.iterdir()) == []  # no ./S3:/bucket/prefix on the local disk


@pytest.mark.parametrize(
    ("out", "said"),
    [
        ("s3:/bucket/prefix", "s3:… is not a store URL: write s3://…"),
        ("az:container", "az:… is not a store URL: write az://…"),
        ("", "an empty location: name a directory or a store URL"),
        (" s3://bucket/prefix", "' s3://bucket/prefix' is no store URL: no space before or"),
        ("s3 ://bucket", "'s3 ://bucket' is no store URL: no space before or inside s3://"),
        ("s3://bucket/../x", "its prefix has a '..' segment (object keys have no relative"),
        ("az://container/./x", "'az://container/./x' is no store URL: its prefix has a '.' seg"),
        ("s3://bucket/a//b", "'s3://bucket/a//b' is no store URL: its prefix has an empty seg"),
        ("az://Archive/x", "az://Archive: not an Azure container name (3 to 63 lowercase"),
    ],
)
def test_a_mistyped_store_url_or_an_empty_out_is_a_usage_error_not_a_local_directory(
    out: str, said: str, tmp_path: Path
) -> None:
    for command in commands(out):
        result = run(command, tmp_path, bare_env())
        assert result.returncode == 2, (command, result.stderr)
        assert said in result.stderr and "Traceback" not in result.stderr
        assert list(tmp_path.iterdir()) == []  # no ./s3:/bucket/prefix, nothing in the cwd


@pytest.mark.parametrize("endpoint", ["notaurl", "127.0.0.1:9000", "http://127.0.0.1:99999"])
def test_an_s3_endpoint_that_is_no_url_is_named_not_a_panic(endpoint: str, tmp_path: Path) -> None:
    env = bare_env(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b")
    for command in commands("s3://bucket/prefix"):
        result = run(command, tmp_path, env)
        assert result.returncode == 2, (command, result.stderr)
        assert f"AWS_ENDPOINT_URL={endpoint!r} is not an http(s) URL" in result.stderr
        assert "Traceback" not in result.stderr and "panic" not in result.stderr


@pytest.mark.parametrize(
    ("url", "endpoint", "allow"),
    [
        ("s3://bucket/prefix", "AWS_ENDPOINT_URL", "AWS_ALLOW_HTTP"),
        ("az://container/prefix", "AZURE_STORAGE_ENDPOINT", "AZURE_ALLOW_HTTP"),
    ],
)
def test_a_plain_http_endpoint_without_its_allow_variable_is_named(
    url: str, endpoint: str, allow: str, tmp_path: Path
) -> None:
    env = bare_env(
        **{endpoint: f"http://127.0.0.1:{free_port()}/acct"},
        AWS_ACCESS_KEY_ID="a",
        AWS_SECRET_ACCESS_KEY="b",
        AZURE_STORAGE_ACCOUNT_NAME="acct",
        AZURE_STORAGE_ACCOUNT_KEY="a2V5",
    )
    for command in commands(url):
        result = run(command, tmp_path, env)
        assert result.returncode == 2, (command, result.stderr)
        (line,) = result.stderr.strip().splitlines()
        assert f"{endpoint}='http://127.0.0.1:" in line
        assert line.endswith(
            f"is plain HTTP: set {allow}=true to use it (requests and"
            " credentials then cross the network unencrypted)"
        )
        assert list(tmp_path.iterdir()) == []


def test_gcs_is_refused_with_the_reason_and_what_to_use_instead(tmp_path: Path) -> None:
    for command in commands("gs://bucket/prefix"):
        result = run(command, tmp_path, bare_env())
        assert result.returncode == 2, (command, result.stderr)
        assert "gs://bucket/prefix: Google Cloud Storage is not supported yet" in result.stderr
        assert "AWS_ENDPOINT_URL" in result.stderr and "Traceback" not in result.stderr
        assert list(tmp_path.iterdir()) == []


def test_an_azure_connection_string_without_an_account_is_named(tmp_path: Path) -> None:
    env = bare_env(AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountKey=a2V5")
    for command in commands("az://container/prefix"):
        result = run(command, tmp_path, env)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.strip() == (
            "hoverbentley: error: az://container/prefix: AZURE_STORAGE_CONNECTION_STRING names"
            " no AccountName: give it as the portal shows it"
            " (DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…)"
        )


def test_azure_without_an_account_is_one_line_naming_what_to_set(tmp_path: Path) -> None:
    for command in commands("az://container/prefix"):
        result = run(command, tmp_path, bare_env())
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.strip() == (
            "hoverbentley: error: az://container/prefix: no Azure storage account given: set"
            " AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_KEY,"
            " or AZURE_STORAGE_CONNECTION_STRING"
        )
        assert list(tmp_path.iterdir()) == []


def test_s3_without_credentials_says_so_instead_of_the_metadata_service_error(
    tmp_path: Path, moto_endpoint: str
) -> None:
    env = bare_env(AWS_ENDPOINT_URL=moto_endpoint, AWS_ALLOW_HTTP="true")
    for command in commands("s3://bucket/prefix"):
        result = run(command, tmp_path, env)
        assert result.returncode == 2, (command, result.stderr)
        assert "hoverbentley: error: s3://bucket/prefix: no credentials found: set" in (
            result.stderr
        )
        assert "AWS_ACCESS_KEY_ID" in result.stderr
        assert "api/token" not in result.stderr and "Traceback" not in result.stderr
        assert list(tmp_path.iterdir()) == []


def test_a_bucket_that_does_not_exist_is_named(tmp_path: Path, s3: Bucket) -> None:
    env = {**cli_env(), **s3.env}
    result = run(commands("s3://no-such-bucket/prefix")[0], tmp_path, env)
    assert result.returncode == 2, result.stderr
    assert "s3://no-such-bucket/prefix: the bucket 'no-such-bucket' does not exist" in (
        result.stderr
    )
    assert S3_SECRET not in result.stderr


def test_a_refused_key_is_access_denied_named_once_without_the_key(
    tmp_path: Path, az: Bucket
) -> None:
    import base64

    wrong = base64.b64encode(b"not the account key of this storage").decode()
    env = {**cli_env(), **az.env, "AZURE_STORAGE_ACCOUNT_KEY": wrong}
    url = f"az://{az.name}/prefix"
    for command in commands(url):
        result = run(command, tmp_path, env)
        assert result.returncode == 2, (command, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            f"hoverbentley: error: {url}: access denied: "
        ), result.stderr
        assert wrong not in result.stderr and az.secret not in result.stderr
        assert list(tmp_path.iterdir()) == []


def test_locations_parse_into_scheme_bucket_and_prefix() -> None:
    assert parse_location("/data/out").scheme == "file"
    assert parse_location("relative/out").prefix == "relative/out"
    assert parse_location("file:///data/out").prefix == "/data/out"
    gs = parse_location("gs://bucket/a/b/")
    assert (gs.scheme, gs.name, gs.prefix, gs.url) == ("gs", "bucket", "a/b", "gs://bucket/a/b")
    with pytest.raises(StoreUnavailable, match="absolute path"):
        parse_location("file://relative")
    with pytest.raises(StoreUnavailable, match="name a container"):
        parse_location("az:///prefix")
    assert parse_location("./s3:/bucket").prefix == "./s3:/bucket"  # a directory, said so
    assert parse_location("s3x:/y").prefix == "s3x:/y"  # no scheme of ours
    # Azure's reserved containers are names too (a static website's $web, say).
    assert [parse_location(f"az://{n}/p").name for n in ("$web", "$root", "$logs", "a-1")] == [
        "$web",
        "$root",
        "$logs",
        "a-1",
    ]


# The Store protocol, the same assertions on every backend.


@pytest.fixture(params=["local", "s3", "az"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "local":
        yield open_store(str(tmp_path / "store"))
        return
    bucket: Bucket = request.getfixturevalue(request.param)
    yield open_store(bucket.url("seam"))


async def test_put_stat_read_list_delete(any_store: Store) -> None:
    store = any_store
    assert await store.stat("a/b.bin") is None
    assert await store.read("a/b.bin") is None
    data = bytes(range(256)) * 40
    await store.put("a/b.bin", data, attributes={"sha256": hashlib.sha256(data).hexdigest()})
    await store.put("a/c.txt", b"hello")
    await store.put("z.txt", b"z")
    info = await store.stat("a/b.bin")
    assert info is not None and info.size == len(data)
    assert await store.read("a/b.bin") == data
    assert await store.read("a/b.bin", 10, 20) == data[10:20]
    assert await store.read("a/b.bin", len(data) - 5) == data[-5:]
    assert b"".join([c async for c in store.stream("a/b.bin")]) == data
    assert sorted([i.key async for i in store.list("a/")]) == ["a/b.bin", "a/c.txt"]
    assert sorted([(i.key, i.size) async for i in store.list()]) == [
        ("a/b.bin", len(data)),
        ("a/c.txt", 5),
        ("z.txt", 1),
    ]
    await store.delete("a/c.txt")
    await store.delete("a/c.txt")  # gone already: no error
    assert await store.stat("a/c.txt") is None


async def test_conditional_puts_let_one_writer_win(any_store: Store) -> None:
    store = any_store
    first = await store.put("token.json", b"v1", if_absent=True)
    with pytest.raises(PreconditionFailed):
        await store.put("token.json", b"other", if_absent=True)
    info = await store.stat("token.json")
    assert info is not None and info.etag is not None
    assert first is None or first == info.etag
    second = await store.put("token.json", b"v2 longer", if_match=info.etag)
    with pytest.raises(PreconditionFailed):
        await store.put("token.json", b"stale writer", if_match=info.etag)
    assert await store.read("token.json") == b"v2 longer"
    now = await store.stat("token.json")
    assert now is not None and (second is None or second == now.etag)


async def test_an_upload_is_visible_only_when_committed(any_store: Store) -> None:
    store = any_store
    part = 5 * 1024 * 1024
    body = os.urandom(2 * part + 123)
    upload = store.upload("big.bin", part_size=part, concurrency=2)
    for start in range(0, len(body), 1_000_000):
        await upload.write(body[start : start + 1_000_000])
    assert await store.stat("big.bin") is None
    await upload.commit({"sha256": hashlib.sha256(body).hexdigest()})
    assert await store.read("big.bin") == body

    dropped = store.upload("dropped.bin", part_size=part, concurrency=2)
    await dropped.write(body)
    await dropped.abort()
    assert await store.stat("dropped.bin") is None
    assert [i.key async for i in store.list()] == ["big.bin"]
