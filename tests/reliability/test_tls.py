"""TLS: verification is on by default; a custom CA bundle is the way to trust a private CA."""

from __future__ import annotations

import dataclasses
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from hoverbentley.config import HttpConfig
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.errors import APIConnectionError
from hoverbentley.hover.client import HoverClient
from tests.support import HB, fast, hover_client, hover_env

pytestmark = pytest.mark.anyio
FAST = fast(max_retries=1)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def tls_emulator(ca: trustme.CA) -> Iterator[Emulator]:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    with Emulator.threaded(EmulatorConfig(jobs=2), ssl_context=server) as emu:
        yield emu


def _client(emu: Emulator, http: HttpConfig) -> HoverClient:
    return hover_client(emu, http=http)


async def test_untrusted_certificate_is_refused_by_default(tls_emulator: Emulator) -> None:
    assert tls_emulator.hover_url.startswith("https://")
    async with _client(tls_emulator, FAST) as client:
        with pytest.raises(APIConnectionError, match=r"(?i)certificate"):
            await client.get_job(15084303)


async def test_ca_file_trusts_the_private_ca_end_to_end(
    tls_emulator: Emulator, ca_file: str, tmp_path: Path
) -> None:
    async with _client(tls_emulator, dataclasses.replace(FAST, ca_file=ca_file)) as client:
        record = await client.get_job_record(15084303)
        first = record.files().files[0]
        result = await client.download(first.url, tmp_path / "f")
    assert result.sha256 == tls_emulator.expected_file(first.url).sha256


def test_no_setting_turns_verification_off() -> None:
    names = {f.name for f in dataclasses.fields(HttpConfig)}
    assert not {n for n in names if "verify" in n or "insecure" in n}
    help_text = subprocess.run(
        [*HB, "hover", "archive", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--ca-file" in help_text and "insecure" not in help_text


def test_cli_ca_file_from_the_environment(
    tls_emulator: Emulator, ca_file: str, tmp_path: Path
) -> None:
    env = hover_env(tls_emulator)
    command = [
        *HB,
        "hover",
        "job",
        "15084303",
        "--max-retries",
        "0",
    ]
    refused = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode == 1
    assert "certificate" in refused.stderr.lower() and "Traceback" not in refused.stderr
    env["HOVERBENTLEY_CA_FILE"] = ca_file
    trusted = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert trusted.returncode == 0, trusted.stderr
    assert "15084303" in trusted.stdout
