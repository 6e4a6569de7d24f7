"""Objects larger than a part: where their sha256 is kept, and what a rerun trusts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import obstore
import pytest

from hoverbentley.archive.object_store import ObjectStoreDestination
from hoverbentley.emulator import Emulator
from hoverbentley.emulator.runner import ExpectedFile
from tests.archive.helpers import (
    MiB,
    assert_complete,
    big_pdfs,
    expected_by_key,
    main_model_pdf,
    storage_fragment,
    storage_requests,
)
from tests.archive.test_archive import emulator

from .conftest import AZURITE_ACCOUNT, Store
from .helpers import manifest_lines, metadata, mirror, open_store
from .proxy import faulty_proxy
from .test_store_archive import archive_into

pytestmark = pytest.mark.anyio

PART = 5 * MiB
#: Three parts each: multipart uploads.
BIG = 2 * PART + 123


def big_files(emu: Emulator, count: int = 2) -> list[ExpectedFile]:
    return [expected_by_key(emu, main_model_pdf(i)) for i in range(count)]


def archived(store: Store, tmp_path: Path, file: ExpectedFile) -> tuple[str, dict[str, Any]]:
    """The path and manifest line of ``file`` in the store's archive."""
    lines = manifest_lines(mirror(store, tmp_path / "copy"))
    (match,) = [(p, e) for p, e in lines.items() if e["url"] == file.url]
    return match


async def test_a_large_object_has_its_sha256_as_metadata_on_azure_and_in_the_manifest_on_s3(
    store: Store, tmp_path: Path
) -> None:
    async with emulator(jobs=3, size_overrides=big_pdfs(2, BIG)) as emu:
        summary = await archive_into(emu, ObjectStoreDestination(store.url(), part_size=PART))
        assert summary.ok, summary.failures  # type: ignore[attr-defined]
        big = big_files(emu)
    for file in big:
        path, line = archived(store, tmp_path, file)
        assert (line["size"], line["sha256"]) == (file.size, file.sha256)
        stored = metadata(store, path)
        if store.kind == "az":
            assert stored["sha256"] == file.sha256
            assert stored["sourceetag"] == line["etag"] == file.etag
        else:
            # S3 takes metadata when the upload starts: the sha256 is in the manifest only.
            assert "sha256" not in stored


async def test_without_its_manifest_line_a_large_object_is_trusted_by_its_metadata(
    store: Store, tmp_path: Path
) -> None:
    async with emulator(jobs=3, size_overrides=big_pdfs(2, BIG)) as emu:
        await archive_into(emu, ObjectStoreDestination(store.url(), part_size=PART))
        # As after a crash before the run saved any line: the objects, and no manifest.
        obstore.delete(open_store(store), "manifest.jsonl")
        seen = len(storage_requests(emu))
        again = await archive_into(emu, ObjectStoreDestination(store.url(), part_size=PART))
        assert again.ok, again.failures  # type: ignore[attr-defined]
        fetched = storage_requests(emu)[seen:]
        big = {storage_fragment(emu, f.url) for f in big_files(emu)}
        if store.kind == "az":
            assert fetched == []  # small and large objects alike, by their metadata
        else:
            # Small objects by their metadata; the large ones, which have none, again.
            assert sorted(f for r in fetched for f in big if f in r.path) == sorted(big)
            assert len(fetched) == len(big)
        assert_complete(mirror(store, tmp_path / "copy"), emu, emu.job_ids(), unique=False)


def behind_proxy(az: Store, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ENDPOINT", f"{url}/{az.endpoint.rsplit('/', 1)[1]}")


async def test_setting_a_blobs_metadata_is_retried_when_it_fails(
    az: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three metadata requests and every second one failed: a 500, then a reset.
    async with emulator(jobs=3, size_overrides=big_pdfs(3, BIG)) as emu:
        origin = az.endpoint.rsplit("/", 1)[0]
        async with faulty_proxy(origin, every=2, only="comp=metadata") as (proxy, url):
            behind_proxy(az, url, monkeypatch)
            dest = ObjectStoreDestination(az.url(), part_size=PART)
            summary = await archive_into(emu, dest)
        monkeypatch.setenv("AZURE_STORAGE_ENDPOINT", az.endpoint)
        assert summary.ok, summary.failures  # type: ignore[attr-defined]
        big = big_files(emu, 3)
    assert {kind for kind, _, _ in proxy.faults} == {"500", "reset"}
    for file in big:
        path, _ = archived(az, tmp_path, file)
        assert metadata(az, path)["sha256"] == file.sha256


async def test_metadata_that_cannot_be_set_leaves_the_object_and_its_line(
    az: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hoverbentley")
    async with emulator(jobs=3, size_overrides=big_pdfs(2, BIG)) as emu:
        origin = az.endpoint.rsplit("/", 1)[0]
        async with faulty_proxy(origin, 1, "comp=metadata", resets=False) as (_, url):
            behind_proxy(az, url, monkeypatch)
            summary = await archive_into(emu, ObjectStoreDestination(az.url(), part_size=PART))
        monkeypatch.setenv("AZURE_STORAGE_ENDPOINT", az.endpoint)
        assert summary.ok, summary.failures  # type: ignore[attr-defined]
        big = big_files(emu)
        for file in big:
            path, line = archived(az, tmp_path, file)
            assert "sha256" not in metadata(az, path)
            assert line["sha256"] == file.sha256
        warned = [r.getMessage() for r in caplog.records if "no sha256 metadata" in r.message]
        assert len(warned) == len(big)
        assert not [m for m in warned if "sig=" in m]  # the signed URL is never logged

        # The manifest line is enough for a rerun.
        seen = len(storage_requests(emu))
        again = await archive_into(emu, ObjectStoreDestination(az.url(), part_size=PART))
        assert again.ok and again.downloaded == 0  # type: ignore[attr-defined]
        assert storage_requests(emu)[seen:] == []


async def test_with_a_sas_token_large_objects_keep_their_sha256_in_the_manifest_only(
    az: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from hoverbentley.emulator.config import AZURITE_KEY
    from hoverbentley.emulator.sas import account_sas

    caplog.set_level(logging.WARNING, logger="hoverbentley")
    # A SAS token cannot sign further URLs: no Set Blob Metadata, one warning for the run.
    sas = account_sas(AZURITE_ACCOUNT, AZURITE_KEY, "rwdlac", 3600)
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_KEY")
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        f"AccountName={AZURITE_ACCOUNT};BlobEndpoint={az.endpoint};SharedAccessSignature={sas}",
    )
    async with emulator(jobs=3, size_overrides=big_pdfs(2, BIG)) as emu:
        summary = await archive_into(emu, ObjectStoreDestination(az.url(), part_size=PART))
        assert summary.ok, summary.failures  # type: ignore[attr-defined]
        big = big_files(emu)
    # Read back with the account key again.
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "cannot sign" in warned[0], warned
    assert "sig=" not in caplog.text
    for file in big:
        path, line = archived(az, tmp_path, file)
        assert "sha256" not in metadata(az, path)
        assert line["sha256"] == file.sha256


async def test_uploads_finishing_together_report_an_unsignable_credential_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import anyio
    from obstore.store import AzureStore

    from hoverbentley.stores.azure_metadata import BlobMetadata

    caplog.set_level(logging.WARNING, logger="hoverbentley")
    # Signing fails before any request is sent, so the endpoint need not answer.
    store = AzureStore(
        "c",
        account_name=AZURITE_ACCOUNT,
        sas_key="sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&sig=x",
        endpoint="http://127.0.0.1:9/devstoreaccount1",
        allow_http=True,
    )
    blobs = BlobMetadata(store, "az://c/archive")
    results: list[bool] = []

    async def one(key: str) -> None:
        results.append(await blobs.set(key, {"sha256": "0" * 64}))

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(one, f"k{i}")
    assert results == [False] * 8
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "cannot sign" in warned[0], warned
