"""``hoverbentley hover takeoff OUT`` and ``hover archive --takeoff`` on archives of the
emulator's jobs; the expected figures are read from the documents the emulator serves."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from hoverbentley.archive.takeoff import write_takeoff
from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.support import HB, cli_env, run_watching_imports

from .helpers import SMALL_SIZES
from .test_cli_archive import FAST, env_for

EMULATOR = EmulatorConfig(jobs=8, sizes=SMALL_SIZES)
PREFERENCE = ("summarized_json", "json", "full_json")


@pytest.fixture
def emu(emu_thread: Emulator) -> Emulator:
    return emu_thread


def run(*args: str | Path, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [*HB, *map(str, args)], env=env or cli_env(), capture_output=True, text=True, timeout=120
    )


def expected_models(emu: Emulator) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(job id, model id) of every complete model → the document a row is made from, as the
    emulator serves it."""
    out = {}
    for job_id in emu.job_ids():
        for model in emu.job_payload(job_id)["models"]:
            if model["state"] != "complete":
                continue
            links = model["artifacts"]["measurements"]
            kind = next(k for k in PREFERENCE if k in links)
            out[(str(job_id), str(model["id"]))] = (kind, json.loads(emu.content_of(links[kind])))
    return out


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def archive(emu: Emulator, out: Path, *extra: str) -> Any:
    result = run("hover", "archive", out, "--all", "--archived", *FAST, *extra, env=env_for(emu))
    assert result.returncode == 0, result.stderr
    return result


def test_takeoff_and_verify_of_a_local_archive_load_no_http_stack(
    emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    archive(emu, out)
    done, imported = run_watching_imports(tmp_path, "hover", "takeoff", out)
    assert done.returncode == 0, done.stderr
    assert len(rows(done.stdout)) == len(expected_models(emu))
    assert not imported
    done, imported = run_watching_imports(tmp_path, "verify", out)
    assert done.returncode == 0, done.stderr
    assert "0 missing, 0 changed, 0 extra, 0 failed" in done.stdout
    assert not imported


def test_one_row_per_complete_model_with_the_documents_figures(
    emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    archive(emu, out, "--takeoff")
    result = run("hover", "takeoff", out)
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    expected = expected_models(emu)
    assert [(r["job_id"], r["model_id"]) for r in table] == list(expected)  # in job id order
    addresses = {r["job_id"]: r["address"] for r in rows((out / "index.csv").read_text())}
    for row in table:
        kind, doc = expected[(row["job_id"], row["model_id"])]
        assert row["document"] == kind
        assert row["address"] == addresses[row["job_id"]] and row["address"]
        area = (doc.get("roof") or {}).get("roof_facets", {}).get("area")
        if area is None:
            assert row["roof_area_sqft"] == row["roof_squares"] == row["predominant_pitch"] == ""
        else:
            assert float(row["roof_area_sqft"]) == area
            assert float(row["roof_squares"]) == pytest.approx(area / 100)
            first = doc["roof"]["pitch"][0]  # the emulator lists the largest first
            assert row["predominant_pitch"] == first["roof_pitch"]
        if "windows" in doc:
            assert int(row["windows"]) == len(doc["windows"])
    # Failed models are named on stderr, with their state.
    failed = [
        (job_id, m["id"])
        for job_id in emu.job_ids()
        for m in emu.job_payload(job_id)["models"]
        if m["state"] != "complete"
    ]
    for job_id, model_id in failed:
        assert f"skipped: job {job_id} model {model_id}: the model is failed" in result.stderr
    # The archive wrote the same table, and keeps it out of verify's way.
    assert (out / "takeoff.csv").read_text() == result.stdout
    assert run("verify", out).returncode == 0


def test_jsonl_to_a_file(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    archive(emu, out, "--include", "json")
    target = tmp_path / "table.jsonl"
    result = run("hover", "takeoff", out, "--format", "jsonl", "--output", target)
    assert result.returncode == 0 and result.stdout == ""
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    expected = expected_models(emu)
    assert {(line["job_id"], line["model_id"]) for line in lines} == set(expected)
    for line in lines:
        kind, doc = expected[(line["job_id"], line["model_id"])]
        assert (
            line["path"]
            == f"hover/{line['job_id']}/models/{line['model_id']}/measurements/{kind}.json"
        )
        area = (doc.get("roof") or {}).get("roof_facets", {}).get("area")
        assert line["takeoff"]["roof_area_sqft"] == area


def test_models_whose_documents_were_not_archived_are_skipped(
    emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    archive(emu, out, "--include", "pdf")
    result = run("hover", "takeoff", out)
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout) == []
    assert (
        "skipped: job 15084303 model 15081683: no measurement document archived"
        " (the model offers json)" in result.stderr
    )


def test_a_broken_document_is_named_and_the_other_rows_written(
    emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    archive(emu, out)
    broken = out / "hover/15084303/models/15081683/measurements/json.json"
    broken.write_bytes(b'{"roof": {"pitch": {"roof_pitch": "8/12"}}}')
    result = run("hover", "takeoff", out)
    assert result.returncode == 1
    assert (
        "error: hover/15084303/models/15081683/measurements/json.json: response is not the"
        " documented shape at $.roof.pitch: Expected `array | null`, got `object`"
        in result.stderr.splitlines()
    )
    assert "Traceback" not in result.stderr
    table = rows(result.stdout)
    assert ("15084303", "15081683") not in {(r["job_id"], r["model_id"]) for r in table}
    assert len(table) == len(expected_models(emu)) - 1


def test_an_unreadable_document_costs_its_row_not_the_table(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    archive(emu, out)
    unreadable = out / "hover/15084303/models/15081683/measurements/json.json"
    unreadable.unlink()
    unreadable.mkdir()
    result = run("hover", "takeoff", out)
    assert result.returncode == 1
    assert (
        f"error: hover/15084303/models/15081683/measurements/json.json: cannot read {unreadable}:"
        in (result.stderr)
    )
    assert len(rows(result.stdout)) == len(expected_models(emu)) - 1


def test_output_goes_through_a_link_and_into_a_pipe(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    archive(emu, out, "--include", "json")
    target, link = tmp_path / "real.csv", tmp_path / "link.csv"
    target.write_text("old")
    link.symlink_to(target)
    assert run("hover", "takeoff", out, "--output", link).returncode == 0
    assert link.is_symlink() and len(rows(target.read_text())) == len(expected_models(emu))

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = run("hover", "takeoff", out, "--output", fifo)
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert fifo.is_fifo() and got and got[0] == target.read_bytes()


def test_not_an_archive_is_a_usage_error(tmp_path: Path) -> None:
    result = run("hover", "takeoff", tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"hoverbentley: error: no manifest in {tmp_path}: not an archive"
    )
    assert result.stdout == ""


@pytest.mark.anyio
async def test_one_jobs_rows_are_replaced_and_the_others_kept(
    emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    archive(emu, out, "--takeoff")
    before = rows((out / "takeoff.csv").read_text())
    job = next(r["job_id"] for r in before if r["document"] == "summarized_json")
    model = next(r["model_id"] for r in before if r["job_id"] == job)
    # As a re-export that a later run archived would leave it.
    document = out / f"hover/{job}/models/{model}/measurements/summarized_json.json"
    document.write_bytes(b'{"roof": {"roof_facets": {"area": 1234, "total": 5}}}')
    table = await write_takeoff(str(out), job_ids=[job])
    assert [r.job_id for r in table.rows] == [job] * len(table.rows)
    after = rows((out / "takeoff.csv").read_text())
    assert [r for r in after if r["job_id"] != job] == [r for r in before if r["job_id"] != job]
    [changed] = [r for r in after if r["model_id"] == model]
    assert (changed["roof_area_sqft"], changed["roof_squares"], changed["roof_facets"]) == (
        "1234",
        "12.34",
        "5",
    )
    assert [r["job_id"] for r in after] == [r["job_id"] for r in before]
