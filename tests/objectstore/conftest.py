"""Local object stores for the tests: moto's S3 server and Azurite, on 127.0.0.1.

Each test gets a fresh bucket (or container) and the environment the store reads its
credentials from; nothing leaves the machine.
"""

from __future__ import annotations

import re
import secrets
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.processes import free_port, running
from tests.services import azurite_blob

pytest.importorskip("obstore")

AZURITE_ACCOUNT = "devstoreaccount1"
#: Credentials of the local servers; the tests look for them in logs and manifests.
S3_KEY_ID = "AKIAHOVERBENTLEYTEST"
S3_SECRET = "s3-secret-never-logged-0123456789abcdef"


@dataclass(frozen=True)
class Store:
    """A bucket or container on a local server: its URL and the environment to reach it."""

    kind: str  # "s3" or "az"
    endpoint: str
    name: str
    env: dict[str, str]
    secret: str

    def url(self, prefix: str = "archive") -> str:
        return f"{self.kind}://{self.name}/{prefix}"


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = free_port()
    workdir = tmp_path_factory.mktemp("moto")
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with running(command, port, workdir / "moto.log"):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def azurite_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with azurite_blob(tmp_path_factory.mktemp("azurite-store")) as url:
        yield f"{url}/{AZURITE_ACCOUNT}"


def s3_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": S3_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
    }


def azure_env(endpoint: str) -> dict[str, str]:
    from hoverbentley.emulator.config import AZURITE_KEY

    return {
        "AZURE_STORAGE_ACCOUNT_NAME": AZURITE_ACCOUNT,
        "AZURE_STORAGE_ACCOUNT_KEY": AZURITE_KEY,
        "AZURE_STORAGE_ENDPOINT": endpoint,
        "AZURE_ALLOW_HTTP": "true",
    }


def make_s3_bucket(endpoint: str) -> Store:
    import boto3

    name = f"hb-{secrets.token_hex(6)}"
    env = s3_env(endpoint)
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    ).create_bucket(Bucket=name)
    return Store("s3", endpoint, name, env, S3_SECRET)


def make_azure_container(endpoint: str) -> Store:
    from hoverbentley.emulator.config import AZURITE_KEY
    from hoverbentley.emulator.sas import account_sas

    name = f"hb-{secrets.token_hex(6)}"
    sas = account_sas(AZURITE_ACCOUNT, AZURITE_KEY, "rwdlac", 3600)
    request = urllib.request.Request(f"{endpoint}/{name}?restype=container&{sas}", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    return Store("az", endpoint, name, azure_env(endpoint), AZURITE_KEY)


@pytest.fixture(params=["s3", "az"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A fresh bucket on moto or container on Azurite, with its environment set."""
    if request.param == "s3":
        made = make_s3_bucket(request.getfixturevalue("moto_endpoint"))
    else:
        made = make_azure_container(request.getfixturevalue("azurite_endpoint"))
    for name, value in made.env.items():
        monkeypatch.setenv(name, value)
    return made


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A fresh bucket on moto, with its environment set."""
    made = make_s3_bucket(moto_endpoint)
    for name, value in made.env.items():
        monkeypatch.setenv(name, value)
    return made


@pytest.fixture
def az(azurite_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A fresh container on Azurite, with its environment set."""
    made = make_azure_container(azurite_endpoint)
    for name, value in made.env.items():
        monkeypatch.setenv(name, value)
    return made


def uploads_in_progress(store: Store) -> int:
    """Multipart uploads begun in ``store``'s bucket and neither completed nor aborted; in a
    container, the blobs that have uncommitted blocks only (invisible at their keys)."""
    if store.kind == "az":
        return len(_blob_names(store, uncommitted=True) - _blob_names(store, uncommitted=False))
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=store.endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    )
    return len(client.list_multipart_uploads(Bucket=store.name).get("Uploads", []))


def _blob_names(store: Store, *, uncommitted: bool) -> set[str]:
    from hoverbentley.emulator.config import AZURITE_KEY
    from hoverbentley.emulator.sas import account_sas

    sas = account_sas(AZURITE_ACCOUNT, AZURITE_KEY, "rl", 3600)
    include = "&include=uncommittedblobs" if uncommitted else ""
    url = f"{store.endpoint}/{store.name}?restype=container&comp=list{include}&{sas}"
    with urllib.request.urlopen(url, timeout=10) as response:
        listing = response.read().decode()
    return set(re.findall(r"<Name>([^<]*)</Name>", listing))
