"""``hoverbentley verify OUT`` on real archives made from the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoverbentley.cli.progress import human_bytes
from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import (
    SMALL_SIZES,
    expected_by_key,
    main_model_pdf,
    read_manifest,
    storage_fragment,
)
from tests.support import HB, cli_env

from .helpers import FAST, hb, hover_env, run_on_terminal


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator.threaded(EmulatorConfig(jobs=3, sizes=SMALL_SIZES)) as emulator:
        yield emulator


@pytest.fixture
def out(emu: Emulator, tmp_path: Path) -> Path:
    """A complete archive of every listed job."""
    emu.faults.clear()
    out = tmp_path / "out"
    result = hb("hover", "archive", out, "--all", "--json", *FAST, env=hover_env(emu))
    assert result.returncode == 0, result.stderr
    return out


def verify_json(out: Path) -> tuple[int, dict[str, Any]]:
    result = hb("verify", out, "--json", env=cli_env())
    assert "Traceback" not in result.stderr and result.stderr == ""
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


def data_files(out: Path) -> list[dict[str, Any]]:
    return [e for e in read_manifest(out) if e["kind"] != "job"]


def test_a_clean_archive_verifies(out: Path) -> None:
    status, report = verify_json(out)
    assert status == 0
    entries = read_manifest(out)
    assert report["files"] == report["verified"] == len(entries)
    assert report["bytes"] == sum(e["size"] for e in entries)
    for problem in ("missing", "changed", "extra", "failed", "partial"):
        assert report[problem] == [], problem
    human = hb("verify", out, env=cli_env())
    assert human.returncode == 0
    assert human.stdout.strip() == (
        f"{len(entries)} of {len(entries)} files verified"
        f" ({human_bytes(report['bytes'])}): 0 missing, 0 changed, 0 extra, 0 failed"
    )


def test_corrupted_deleted_and_added_files_are_reported(out: Path) -> None:
    files = data_files(out)
    damaged, deleted = files[2], files[5]
    target = out / damaged["path"]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    target.write_bytes(bytes(data))
    (out / deleted["path"]).unlink()
    (out / "hover" / "notes.txt").write_text("mine")
    job_record = next(e for e in read_manifest(out) if e["kind"] == "job")
    (out / job_record["path"]).write_text("{}")

    status, report = verify_json(out)
    assert status == 1
    assert report["missing"] == [deleted["path"]]
    assert report["extra"] == ["hover/notes.txt"]
    changed = {c["path"]: c for c in report["changed"]}
    assert set(changed) == {damaged["path"], job_record["path"]}
    assert changed[damaged["path"]]["expected_sha256"] == damaged["sha256"]
    assert changed[damaged["path"]]["actual_sha256"] != damaged["sha256"]
    assert changed[damaged["path"]]["actual_size"] == damaged["size"]
    assert report["verified"] == report["files"] - 3

    human = hb("verify", out, env=cli_env())
    assert human.returncode == 1
    lines = human.stdout.splitlines()
    assert f"missing: {deleted['path']}" in lines
    assert "extra: hover/notes.txt" in lines
    assert any(line.startswith(f"changed: {damaged['path']} (sha256 ") for line in lines)
    assert lines[-1].endswith(": 1 missing, 2 changed, 1 extra, 0 failed")


def test_files_that_failed_in_the_last_run_are_not_clean(emu: Emulator, tmp_path: Path) -> None:
    bad = expected_by_key(emu, main_model_pdf(0))
    emu.script(storage_fragment(emu, bad.url), "503", "503")
    out = tmp_path / "out"
    run = hb(
        "hover",
        "archive",
        out,
        "--all",
        "--json",
        "--max-retries",
        "1",
        "--retries",
        "0",
        *FAST,
        env=hover_env(emu),
    )
    assert run.returncode == 1
    (failure,) = json.loads(run.stdout)["failures"]
    status, report = verify_json(out)
    assert status == 1
    assert report["failed"] == [failure["path"]]
    assert report["missing"] == report["changed"] == report["extra"] == []


def test_partial_downloads_are_named_but_not_an_error(out: Path) -> None:
    part = out / "hover" / "big.pdf.part"
    part.write_bytes(b"half")
    status, report = verify_json(out)
    assert status == 0
    assert report["partial"] == ["hover/big.pdf.part"] and report["extra"] == []


@pytest.mark.parametrize("make", ["nothing", "file", "empty-dir"])
def test_what_is_not_an_archive_is_a_usage_error(tmp_path: Path, make: str) -> None:
    target = tmp_path / "x"
    if make == "file":
        target.write_text("x")
    elif make == "empty-dir":
        target.mkdir()
    result = hb("verify", target, env=cli_env())
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hoverbentley: error: ")
    assert ("not an archive" if make == "empty-dir" else "OUT is not a directory") in lines[0]


def test_progress_counts_files_on_a_terminal(out: Path) -> None:
    result, seen = run_on_terminal([*HB, "verify", str(out)], cli_env(), columns=60)
    assert result.returncode == 0
    total = len(read_manifest(out))
    draws = [d.removesuffix("\x1b[K") for d in seen.split("\r") if d]
    assert f"verify: {total}/{total} files" in " ".join(draws)
    assert draws[0].startswith("verify: 1/")
    assert "\n" not in seen


@pytest.mark.parametrize("command", [("verify",), ("manifest", "merge")])
@pytest.mark.parametrize("fault", ["manifest-is-a-directory", "part-is-a-directory", "link"])
def test_a_manifest_that_is_no_file_is_named(
    out: Path, command: tuple[str, ...], fault: str
) -> None:
    manifest = out / "manifest.jsonl"
    if fault == "manifest-is-a-directory":
        manifest.unlink()
        manifest.mkdir()
        culprit = manifest
    elif fault == "part-is-a-directory":
        culprit = out / "manifests" / "shard-00000-of-00002.jsonl"
        culprit.mkdir(parents=True)
        (out / "manifests" / "shard-00001-of-00002.jsonl").write_bytes(b"")
    else:
        manifest.unlink()
        manifest.symlink_to(out / "gone.jsonl")
        culprit = manifest
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    result = hb(*command, out, env=cli_env())
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hoverbentley: error: ")
    assert lines[0].endswith(f"{culprit} is {_WHAT[fault]}, not a manifest")
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


_WHAT = {
    "manifest-is-a-directory": "a directory",
    "part-is-a-directory": "a directory",
    "link": "a link to nothing",
}


def test_an_index_that_is_not_utf8_is_named_and_nothing_is_rewritten(
    emu: Emulator, out: Path
) -> None:
    (out / "manifests").mkdir()
    (out / "manifests" / "run-1.jsonl").write_bytes((out / "manifest.jsonl").read_bytes())
    (out / "index.csv").write_bytes(b"provider,job_id\n\xff\xfe,1\n")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    expected = (
        "hoverbentley: error: index.csv is not UTF-8 text (byte 16): its job rows cannot be"
        " read; mend it or move it aside (the next run lists the jobs it archives)"
    )
    merged = hb("manifest", "merge", out, env=cli_env())
    rerun = hb("hover", "archive", out, "--all", *FAST, env=hover_env(emu))
    for result in (merged, rerun):
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip().splitlines()[-1] == expected
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
