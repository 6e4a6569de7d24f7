"""``--dry-run`` into ``s3://`` (moto): what would be fetched and what the bucket already holds,
listed from the store's manifest, and not one object written, changed or started."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import obstore

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import SMALL_SIZES, expected_by_key, main_model_pdf, storage_fragment
from tests.archive.test_cli_archive import FAST, env_for
from tests.support import hover_archive

from .conftest import Store, uploads_in_progress
from .helpers import objects, open_store


def snapshot(store: Store, prefix: str) -> dict[str, tuple[Any, ...]]:
    """Every object under ``prefix`` of the bucket: its size, ETag, time and bytes."""
    data = objects(store, prefix)
    listed = [m for batch in obstore.list(open_store(store, prefix)) for m in batch]
    return {m["path"]: (m["size"], m["e_tag"], m["last_modified"], data[m["path"]]) for m in listed}


def run(emu: Emulator, store: Store, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*hover_archive(store.url(prefix), *args), *FAST],
        env=env_for(emu, **store.env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_dry_run_into_a_bucket_lists_fetch_and_skip_and_writes_nothing(s3: Store) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=3, sizes=SMALL_SIZES)) as emu:
        broken = expected_by_key(emu, main_model_pdf(0))
        emu.script(storage_fragment(emu, broken.url), *["500"] * 4)
        first = str(broken.job_id)
        setup = run(
            emu, s3, "archive", "--job", first, "-q", "--max-retries", "0", "--retries", "0"
        )
        assert setup.returncode == 1, setup.stderr  # one file failed, the others are stored
        manifest = {
            entry["path"]: entry
            for entry in map(json.loads, objects(s3)["manifest.jsonl"].decode().splitlines())
        }
        before = snapshot(s3, "archive")
        assert before
        seen = len(emu.requests)

        listed = run(emu, s3, "archive", "--all", "--dry-run", "--json")
        fresh = run(emu, s3, "fresh", "--all", "--dry-run", "--json")
        storage = [r for r in emu.requests[seen:] if r.target == "storage"]
    assert listed.returncode == fresh.returncode == 0, listed.stderr + fresh.stderr
    assert snapshot(s3, "archive") == before  # no object written or rewritten
    assert snapshot(s3, "fresh") == {}  # not even a manifest where there was no archive
    assert uploads_in_progress(s3) == 0
    assert not storage  # nothing downloaded

    *files, summary = [json.loads(line) for line in listed.stdout.splitlines()]
    by_path = {f["path"]: f for f in files}
    done = {p for p, e in manifest.items() if e["status"] == "ok" and e["kind"] != "job"}
    skip = {p for p, f in by_path.items() if f["action"] == "skip"}
    assert done and skip == done
    assert all(by_path[p]["size"] == manifest[p]["size"] for p in skip)
    failed = next(p for p, e in manifest.items() if e["status"] == "failed")
    assert by_path[failed]["action"] == "fetch"
    new = [f for f in files if f["job_id"] != first]
    assert new and all(f["action"] == "fetch" and f["reason"] == "not in the archive" for f in new)
    assert summary["dry_run"] is True and summary["skipped"] == len(skip)
    assert summary["skipped_bytes"] == sum(manifest[p]["size"] for p in skip)

    *fresh_files, _ = [json.loads(line) for line in fresh.stdout.splitlines()]
    assert len(fresh_files) == len(files)
    assert all(f["action"] == "fetch" for f in fresh_files)
