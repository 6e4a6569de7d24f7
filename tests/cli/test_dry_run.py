"""``--dry-run`` on an archive that exists: what would be fetched, what is there; nothing
written."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import SMALL_SIZES, expected_by_key, main_model_pdf, storage_fragment
from tests.support import HB, hover_archive

from .helpers import FAST, bentley_env, hover_env


def snapshot(out: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every entry under ``out``: size, modification time and bytes of each file."""
    found = {}
    for path in sorted(out.rglob("*")):
        info = path.stat()
        data = path.read_bytes() if path.is_file() else b""
        found[path.relative_to(out).as_posix()] = (info.st_size, info.st_mtime_ns, data)
    return found


def test_a_dry_run_on_an_archive_says_what_it_would_fetch_and_what_is_there(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    with Emulator.threaded(EmulatorConfig(jobs=4, sizes=SMALL_SIZES)) as emu:
        broken = expected_by_key(emu, main_model_pdf(0))
        first = broken.job_id
        emu.script(storage_fragment(emu, broken.url), *["500"] * 4)
        env = hover_env(emu)
        once = hover_archive(out, "--job", str(first), "--max-retries", "0", "--retries", "0")
        setup = subprocess.run(
            [*once, "-q", *FAST],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert setup.returncode == 1, setup.stderr  # one file failed
        manifest = {
            json.loads(line)["path"]: json.loads(line)
            for line in (out / "manifest.jsonl").read_text().splitlines()
        }
        before = snapshot(out)
        seen = len(emu.requests)

        dry = [*hover_archive(out, "--all", "--dry-run"), *FAST]
        listed = subprocess.run(
            [*dry, "--json"], env=env, capture_output=True, text=True, timeout=120
        )
        told = subprocess.run(dry, env=env, capture_output=True, text=True, timeout=120)
        storage = [r for r in emu.requests[seen:] if r.target == "storage"]
    assert listed.returncode == told.returncode == 0, listed.stderr + told.stderr
    assert snapshot(out) == before  # nothing written, not even a byte of the manifest
    assert not storage  # nothing downloaded

    *files, summary = [json.loads(line) for line in listed.stdout.splitlines()]
    by_path = {f["path"]: f for f in files}
    assert len(by_path) == len(files) == summary["files"]
    skip = {p for p, f in by_path.items() if f["action"] == "skip"}
    done = {p for p, e in manifest.items() if e["status"] == "ok" and e["kind"] != "job"}
    assert skip == done
    for path in skip:
        assert by_path[path]["size"] == manifest[path]["size"]  # what the archive holds
        assert by_path[path]["reason"] == "complete in the archive"
    failed = by_path[next(p for p, e in manifest.items() if e["status"] == "failed")]
    assert failed["action"] == "fetch" and failed["reason"].startswith("failed in an earlier run")
    new = [f for f in files if f["job_id"] != str(first)]
    assert new and all(f["action"] == "fetch" for f in new)
    assert all(f["reason"] == "not in the archive" and f["size"] is None for f in new)

    assert summary["dry_run"] is True and summary["skipped"] == len(skip)
    kept = sum(manifest[p]["size"] for p in skip)
    assert summary["skipped_bytes"] == kept
    text = told.stdout
    assert f"would fetch {len(files) - len(skip)} files (size unknown)" in text, text
    assert f"already there: {len(skip)} files ({kept / 1024:.1f} KiB)" in text, text


def test_bentley_dry_run_gives_the_sizes_the_service_lists(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Emulator.threaded(EmulatorConfig(jobs=1, sizes=SMALL_SIZES)) as emu:
        itwin = emu.itwin_ids[0]
        env = bentley_env(emu)
        argv = [*HB, "bentley", "archive", str(out), "--filter", f"iTwinId eq {itwin}", *FAST]
        result = subprocess.run(
            [*argv, "--dry-run", "--json"], env=env, capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 0, result.stderr
    *files, summary = [json.loads(line) for line in result.stdout.splitlines()]
    assert files and all(f["action"] == "fetch" and f["size"] is not None for f in files)
    assert summary["fetch_bytes"] == sum(f["size"] for f in files) > 0
    assert not os.path.exists(out)
