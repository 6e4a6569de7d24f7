"""``hoverbentley demo``: the Hover jobs and one Reality Modeling v2 job, archived offline into
one archive and checked against the emulator."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from hoverbentley.archive import Manifest
from hoverbentley.cli.common import sha256_file
from hoverbentley.emulator import Emulator, EmulatorConfig, SeedV2
from tests.support import HB, cli_env

from .helpers import hb


def expected_v2() -> dict[tuple[str, str], str]:
    """The v2 job's blobs, as the demo's emulator (same seed) holds them."""
    emu = Emulator(EmulatorConfig(jobs=1))
    itwin = emu.v2_job(SeedV2.CALIBRATION)["iTwinId"]
    blobs = emu.expected_v2_blobs(SeedV2.CALIBRATION)
    assert {b.output_id for b in blobs} >= {emu.bucket_container(itwin)}  # a bkt: output too
    return {(b.output_id, b.name): b.sha256 for b in blobs}


def archived_v2(out: Path) -> dict[tuple[str, str], str]:
    manifest = Manifest(out)
    manifest.load()
    found = {}
    for entry in manifest.entries.values():
        if entry.job_id == SeedV2.CALIBRATION and entry.kind != "job":
            assert entry.status == "ok", entry
            part = entry.part_id or ""
            owner = "bucket" if part.startswith("bkt:") else part
            found[(owner, entry.key or "")] = sha256_file(out / entry.path)
    return found


def test_demo_json_adds_the_v2_job_and_its_files_match(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = hb("demo", out, "--jobs", "1", "--json", "-q", env=cli_env())
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    v2 = json.loads(line)["bentley_v2"]
    expected = expected_v2()
    assert v2["job_id"] == SeedV2.CALIBRATION
    assert v2["mismatched"] == [] and v2["failed"] == 0
    assert v2["downloaded"] == v2["files"] == len(expected)
    by_owner = {
        (("bucket" if o.startswith("bucket-") else o), n): d for (o, n), d in expected.items()
    }
    assert archived_v2(out) == by_owner
    record = json.loads((out / "bentley" / SeedV2.CALIBRATION / "job.json").read_bytes())
    assert record["job"]["type"] == "Calibration"
    index = (out / "index.csv").read_text()
    assert f"bentley,{SeedV2.CALIBRATION}," in index and "\nhover," in index
    verified = hb("verify", out)
    assert verified.returncode == 0, verified.stdout

    again = hb("demo", out, "--jobs", "1", "--json", "-q", env=cli_env())
    assert again.returncode == 0, again.stderr
    rerun = json.loads(again.stdout)["bentley_v2"]
    assert rerun["downloaded"] == 0 and rerun["skipped"] == len(expected)


def test_demo_text_says_where_the_v2_api_is_and_that_it_matches(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = hb("demo", out, "--jobs", "1", "--no-progress", env=cli_env())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("emulator: Hover API at http://127.0.0.1:")
    assert "every archived file matches the emulator's sha256" in lines
    v2 = lines.index("every archived v2 output matches the emulator's sha256")
    announce = next(i for i, text in enumerate(lines) if "Reality Modeling v2 at" in text)
    assert lines[announce].startswith("emulator: Bentley Reality Modeling v2 at http://127.0.0.1:")
    assert announce < v2 and lines[announce + 1].startswith("1 job, ")
    assert f"bentley/{SeedV2.CALIBRATION}/" in lines[-1]


def test_the_emulator_on_a_port_in_use_is_one_line_naming_the_flags() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*HB, "emulator", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=cli_env(),
        )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        "hoverbentley: error: cannot listen (--host, --port, --storage-port, --bentley-port): "
    )
    assert f"{port}" in line and "address already in use" in line
