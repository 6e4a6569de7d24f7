"""Helpers of the archive tests: what a complete, correct archive of the emulator looks like."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hoverbentley.archive.merge import is_bookkeeping
from hoverbentley.emulator import Emulator
from hoverbentley.emulator.catalog import file_key
from hoverbentley.emulator.runner import ExpectedFile
from tests.support import fast

KiB = 1024
MiB = 1024 * KiB

#: Fast retries and no client-side rate limit, with five retries for the fault tests.
FAST_HTTP = fast(max_retries=5, backoff_max=0.05)

#: Small generated files, so whole archives take a fraction of a second.
SMALL_SIZES = {
    "image": (4 * KiB, 16 * KiB),
    "measurements": (2 * KiB, 24 * KiB),
    "cad_exports": (16 * KiB, 96 * KiB),
}


def main_model_pdf(index: int) -> str:
    """The measurement PDF key of the first model of generated job ``index`` (always complete)."""
    return f"/api/v3/models/{40_000_000 + 10 * index}/artifacts/measurements.pdf"


def big_pdfs(count: int, size: int) -> dict[str, int]:
    """``size_overrides`` making the main PDF of the first ``count`` generated jobs large."""
    return {main_model_pdf(i): size for i in range(count)}


def hold_big_files(emu: Emulator, count: int) -> None:
    """The next body of each of the first ``count`` big PDFs (see :func:`big_pdfs`) stops
    half-way, its connection open, until the client leaves (give the emulator a long
    ``FaultConfig.stall_seconds`` and the client a long ``--stall-timeout``): a run is then
    certain to be mid-file, its upload open, when the test stops it."""
    for index in range(count):
        emu.script(storage_fragment(emu, expected_by_key(emu, main_model_pdf(index)).url), "stall")


def expected_by_key(emu: Emulator, key: str) -> ExpectedFile:
    """The expected file whose URL has the emulator key ``key``."""
    (match,) = [f for f in emu.expected_files() if file_key(f.url) == key]
    return match


def storage_fragment(emu: Emulator, url: str) -> str:
    """The path fragment of the file at ``url`` on the storage host (to script faults with)."""
    return f"/files/{emu.catalog.files[file_key(url)].file_id}/"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(out: Path, *, strict: bool = True) -> list[dict[str, Any]]:
    """Every line of the manifest, each of which must be whole JSON.

    Not ``strict``: skip torn lines, as the archive does (after a SIGKILL).
    """
    text = (out / "manifest.jsonl").read_text(encoding="utf-8")
    if strict:
        assert text == "" or text.endswith("\n"), "the manifest ends in a torn line"
        return [json.loads(line) for line in text.splitlines()]
    entries = []
    for line in text.splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def disk_files(out: Path) -> dict[str, str]:
    """``relative path → sha256`` of every file under ``out`` but the manifest, the index and
    what else the archive keeps about itself (``.hoverbentley/``: marks, the service's journal)."""
    if not out.exists():
        return {}
    return {
        p.relative_to(out).as_posix(): sha256_file(p)
        for p in out.rglob("*")
        if p.is_file() and not is_bookkeeping(p.relative_to(out).as_posix())
    }


def live_progress(out: Path) -> tuple[int, int, list[str]]:
    """While a run writes ``out``: files and bytes recorded complete, and the non-empty .part
    files of streamed downloads (those with a ``.part.json``; a small file's ``.part`` only
    lives for a moment, written whole and renamed).

    Safe against files renamed or created while it looks.
    """
    if not (out / "manifest.jsonl").exists():
        return 0, 0, []
    done = [e for e in read_manifest(out, strict=False) if e["kind"] != "job"]
    parts = []
    for p in out.rglob("*.part"):
        try:
            if p.stat().st_size > 0 and p.with_name(p.name + ".json").exists():
                parts.append(p.relative_to(out).as_posix())
        except FileNotFoundError:
            continue  # renamed in the meantime
    return len(done), sum(e["size"] for e in done if e["status"] == "ok"), parts


def partial_files(out: Path) -> list[str]:
    return sorted(p for p in disk_files(out) if p.endswith((".part", ".part.json", ".tmp")))


def storage_requests(emu: Emulator, since: int = 0) -> list[Any]:
    return [r for r in emu.requests[since:] if r.target == "storage"]


def file_requests(emu: Emulator, since: int = 0) -> list[Any]:
    """Requests for artifacts and images to the Hover host (the ones that redirect)."""
    return [
        r
        for r in emu.requests[since:]
        if r.target == "hover" and ("/artifacts/" in r.path or "/api/v2/images/" in r.path)
    ]


def assert_no_credentials_to_storage(emu: Emulator) -> None:
    """Storage got neither the bearer token nor the current-user parameter; Hover got both."""
    for r in storage_requests(emu):
        assert r.authorization is None, r.path_qs
        assert "current_user" not in r.query_string, r.path_qs
        assert emu.config.token not in json.dumps(r.headers), r.path_qs
    for r in file_requests(emu):
        assert r.authorization == f"Bearer {emu.config.token}", r.path_qs


def assert_complete(
    out: Path,
    emu: Emulator,
    job_ids: Iterable[int],
    *,
    expected: list[ExpectedFile] | None = None,
    unique: bool = True,
    strict: bool = True,
) -> dict[str, dict[str, Any]]:
    """``out`` holds every expected file exactly once with the emulator's sha256; return the
    newest manifest entry of each path.

    ``unique``: no path was completed twice (one ``ok`` manifest line per path); ``strict``:
    every manifest line is whole.
    """
    expected = emu.expected_files() if expected is None else expected
    job_ids = sorted(job_ids)
    lines = read_manifest(out, strict=strict)
    ok = [e for e in lines if e["status"] == "ok"]
    if unique:
        twice = [p for p, n in Counter(e["path"] for e in ok).items() if n > 1]
        assert not twice, f"completed more than once: {twice[:5]}"
    newest = {e["path"]: e for e in lines}
    assert all(e["status"] == "ok" for e in newest.values()), [
        e for e in newest.values() if e["status"] != "ok"
    ][:3]
    files = {p: e for p, e in newest.items() if e["kind"] != "job"}
    records = {p: e for p, e in newest.items() if e["kind"] == "job"}

    # Every expected file, each once, with the emulator's checksum and nothing else.
    got = Counter((e["url"], e["sha256"]) for e in files.values())
    want = Counter((f.url, f.sha256) for f in expected)
    assert got == want
    sizes = {f.url: f.size for f in expected}
    owners = {f.url: (str(f.job_id), str(f.model_id)) for f in expected}
    for path, e in files.items():
        assert e["size"] == sizes[e["url"]]
        assert (e["job_id"], e["model_id"]) == owners[e["url"]]
        assert path.startswith(f"hover/{e['job_id']}/models/{e['model_id']}/"), path

    # The bytes on disk are the ones the manifest (and the emulator) name; no strays.
    on_disk = disk_files(out)
    assert sorted(on_disk) == sorted(newest), (
        sorted(set(on_disk) ^ set(newest))[:10],
        "files on disk differ from the manifest",
    )
    for path, entry in newest.items():
        assert on_disk[path] == entry["sha256"], path

    # One job.json per job: the raw payload, recorded in the manifest.
    assert sorted(records) == [f"hover/{j}/job.json" for j in job_ids]
    for job_id in job_ids:
        record = json.loads((out / f"hover/{job_id}/job.json").read_bytes())
        assert record == emu.job_payload(job_id)
    return newest


def failed_models(emu: Emulator, job_ids: Iterable[int]) -> set[tuple[str, str, str, str | None]]:
    """``(job id, model id, state, failure reason)`` of every model that is not complete."""
    out = set()
    for job_id in job_ids:
        for model in emu.job_payload(job_id)["models"]:
            if model["state"] != "complete":
                reason = model.get("failure_reason")
                out.add((str(job_id), str(model["id"]), model["state"], reason))
    return out
