"""``hover archive s3://…`` from the command line: a run killed mid-upload, then a rerun."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import obstore
import pytest

from hoverbentley.archive.shard import in_shard
from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from tests.archive.helpers import (
    SMALL_SIZES,
    MiB,
    assert_complete,
    big_pdfs,
    expected_by_key,
    hold_big_files,
    main_model_pdf,
)
from tests.archive.test_cli_archive import FAST, env_for, summary_of
from tests.services import find_tool, missing
from tests.support import HB, cli_env

from .conftest import Store, uploads_in_progress
from .helpers import metadata, mirror, objects, open_store

#: Two files of three 8 MiB parts each: caught mid-upload when the run is killed.
BIG = 20 * MiB


#: The client waits out a held body (see hold_big_files) instead of cutting it.
HELD = ("--stall-timeout", "600")


def command(url: str, *args: str) -> list[str]:
    return [*HB, "hover", "archive", url, "--all", "--json", *FAST, *args]


def stored_files(store: Store) -> dict[str, bytes]:
    return {k: v for k, v in objects(store).items() if k.startswith("hover/")}


@pytest.mark.slow
def _start_mid_upload(
    store: Store, emu: Emulator, *args: str, held: int = 2, uploads: int = 1
) -> subprocess.Popen[str]:
    """A CLI archive into ``store``, returned once files are stored and ``uploads`` uploads
    are open, those of the first ``held`` big files held there (their bodies stop half-way
    until the run ends)."""
    hold_big_files(emu, held)
    proc = subprocess.Popen(
        command(
            store.url(), "--concurrency", "4", "--retries", "0", "--stall-timeout", "600", *args
        ),
        env=env_for(emu, **store.env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (stored_files(store) and uploads_in_progress(store) >= uploads):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never got mid-upload"
        time.sleep(0.05)
    return proc


def test_sigkill_mid_upload_leaves_no_partial_object_and_a_rerun_completes(
    store: Store, tmp_path: Path
) -> None:
    config = EmulatorConfig(
        jobs=3,
        sizes=SMALL_SIZES,
        size_overrides=big_pdfs(2, BIG),
        faults=FaultConfig(stall_seconds=600),
    )
    with Emulator.threaded(config) as emu:
        expected = emu.expected_files()
        proc = _start_mid_upload(store, emu)
        proc.kill()
        _, stderr = proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        left_open = uploads_in_progress(store)
        assert left_open > 0  # the kill landed while an upload was open

        # Whatever is at a final key is a whole file with the emulator's bytes.
        whole = {(f.size, f.sha256) for f in expected}
        records = {f"hover/{j}/job.json" for j in emu.job_ids()}
        left = {k: v for k, v in stored_files(store).items() if k not in records}
        for key, data in left.items():
            assert (len(data), hashlib.sha256(data).hexdigest()) in whole, key

        emu.faults.clear()
        result = subprocess.run(
            command(store.url()),
            env=env_for(emu, **store.env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        summary = summary_of(result)
        assert summary["failed"] == 0
        assert summary["downloaded"] + summary["skipped"] == summary["files"] == len(expected)
        # Every file whole in the store when the run died is kept, not fetched again.
        assert summary["skipped"] >= len(left)

        copy = mirror(store, tmp_path / "copy")
        lines = assert_complete(copy, emu, emu.job_ids(), expected=expected)
        # Nothing else under the prefix: no temporary key, no run's manifest segment.
        assert set(objects(store)) == {*lines, "manifest.jsonl", "index.csv"}
        # None left open: on S3 the rerun aborted the killed run's uploads (its record of them
        # is gone too: nothing else is under the prefix); on Azure its commits dropped the
        # uncommitted blocks.
        assert uploads_in_progress(store) == 0
        if store.kind == "az":
            # The large objects carry their sha256 (on S3 it is in the manifest only).
            for file in expected:
                if file.size == BIG:
                    (path,) = [p for p, e in lines.items() if e["url"] == file.url]
                    assert metadata(store, path)["sha256"] == file.sha256
        assert store.secret not in result.stderr + result.stdout + stderr
        assert store.secret not in (copy / "manifest.jsonl").read_text()


def test_a_shard_aborts_only_the_uploads_its_own_crashed_run_left_open(s3: Store) -> None:
    config = EmulatorConfig(
        jobs=4,
        sizes=SMALL_SIZES,
        size_overrides=big_pdfs(4, BIG),
        faults=FaultConfig(stall_seconds=600),
    )
    with Emulator.threaded(config) as emu:
        # Every big file is held half-way, and the kill waits for each of shard 0's uploads
        # to be open: none of them can complete, be aborted or be created after the count
        # (a request the killed run had sent, which the store answers late).
        big_jobs = [expected_by_key(emu, main_model_pdf(i)).job_id for i in range(4)]
        mine = sum(in_shard("hover", str(job), (0, 2)) for job in big_jobs)
        assert mine > 0
        proc = _start_mid_upload(s3, emu, "--shard", "0/2", held=4, uploads=mine)
        proc.kill()
        proc.communicate()
        left_open = uploads_in_progress(s3)
        assert left_open == mine
        emu.faults.clear()

        def shard(k: int) -> dict[str, Any]:
            result = subprocess.run(
                command(s3.url(), "--shard", f"{k}/2"),
                env=env_for(emu, **s3.env),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, result.stderr
            return summary_of(result)

        assert shard(1)["failed"] == 0
        assert uploads_in_progress(s3) == left_open  # a sibling shard's uploads are not its own
        assert shard(0)["failed"] == 0
        assert uploads_in_progress(s3) == 0
        assert not [k for k in objects(s3) if k.startswith(".hoverbentley/uploads/")]


def test_the_demo_archives_into_a_local_azurite_with_one_flag() -> None:
    tool = find_tool("azurite-blob", "HOVERBENTLEY_AZURITE")
    if tool is None:
        missing("Azurite", "HOVERBENTLEY_AZURITE")
    assert tool is not None
    result = subprocess.run(
        [*HB, "demo", "--azurite", "--jobs", "3", "--json"],
        env=cli_env(HOVERBENTLEY_AZURITE=tool),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    summary = summary_of(result)
    assert summary["out"] == "az://hoverbentley-demo/archive"
    assert summary["failed"] == 0 and summary["downloaded"] == summary["files"] > 0
    assert "Traceback" not in result.stderr


def test_verify_reads_the_store_back_and_names_missing_changed_and_extra_objects(
    s3: Store,
) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=2, sizes=SMALL_SIZES)) as emu:
        archived = subprocess.run(
            command(s3.url()), env=env_for(emu, **s3.env), capture_output=True, text=True
        )
        assert archived.returncode == 0, archived.stderr

    def verify() -> tuple[int, dict[str, Any]]:
        result = subprocess.run(
            [*HB, "verify", s3.url(), "--json"],
            env=cli_env(**s3.env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "Traceback" not in result.stderr
        return result.returncode, json.loads(result.stdout)

    status, report = verify()
    assert status == 0 and report["verified"] == report["files"] > 0, report
    handle = open_store(s3)
    files = sorted(k for k in objects(s3) if "/models/" in k)
    obstore.put(handle, files[0], b"other bytes", use_multipart=False)
    obstore.delete(handle, files[1])
    obstore.put(handle, "hover/stray.bin", b"x", use_multipart=False)
    status, report = verify()
    assert status == 1
    assert [c["path"] for c in report["changed"]] == [files[0]]
    assert report["missing"] == [files[1]]
    assert report["extra"] == ["hover/stray.bin"]
    assert report["verified"] == report["files"] - 2


@pytest.mark.slow
def test_sigterm_mid_upload_aborts_the_uploads_and_keeps_what_is_complete(s3: Store) -> None:
    config = EmulatorConfig(
        jobs=3,
        sizes=SMALL_SIZES,
        size_overrides=big_pdfs(2, BIG),
        faults=FaultConfig(stall_seconds=600),
    )
    with Emulator.threaded(config) as emu:
        proc = _start_mid_upload(s3, emu)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 143, stderr
        assert "Traceback" not in stderr
        # The uploads under way were aborted; the manifest names what is complete.
        assert uploads_in_progress(s3) == 0
        store = objects(s3)
        lines = [json.loads(x) for x in store["manifest.jsonl"].splitlines()]
        done = {e["path"] for e in lines if e["status"] == "ok" and e["kind"] != "job"}
        assert done and done <= set(store)
        assert not [k for k in store if k.startswith("manifests/")]

        emu.faults.clear()
        result = subprocess.run(
            command(s3.url()), env=env_for(emu, **s3.env), capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert summary_of(result)["skipped"] >= len(done)
