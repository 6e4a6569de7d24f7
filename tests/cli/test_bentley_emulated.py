"""The ``bentley`` commands against the emulator, v1 and v2 through one suite where they behave
alike, then what only v2 does (refused cancellation, job messages, Reality Analysis)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoverbentley.archive import Manifest
from hoverbentley.cli.common import sha256_file
from hoverbentley.emulator import BentleyConfig, Emulator, EmulatorConfig, SeedV2
from tests.support import HB, cli_env

from .helpers import FAST, error_line, hb

ACCEPT = {
    "v1": "application/vnd.bentley.itwin-platform.v1+json",
    "v2": "application/vnd.bentley.itwin-platform.v2+json",
}
SCENE = "e1b2c3d4-0000-4000-8000-00000000c0de"
both = pytest.mark.parametrize("api", ["v1", "v2"])


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    # v2 jobs move only when a test moves them; three polls take a v1 job to 100 %.
    bentley = BentleyConfig(progress_step=34, v2_percent_per_second=0)
    with Emulator.threaded(EmulatorConfig(jobs=0, bentley=bentley)) as emulator:
        yield emulator


def env(emu: Emulator, api: str) -> dict[str, str]:
    return cli_env(
        BENTLEY_API=api,
        BENTLEY_TOKEN=emu.config.bentley.token,
        BENTLEY_BASE_URL=emu.reality_modeling_url,
        BENTLEY_V2_BASE_URL=emu.reality_modeling_v2_url,
        BENTLEY_ANALYSIS_BASE_URL=emu.reality_analysis_url,
        BENTLEY_REALITY_URL=emu.reality_management_url,
    )


def run(emu: Emulator, api: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return hb("bentley", *args, *FAST, env=env(emu, api))


def itwin_of(emu: Emulator, api: str) -> str:
    return emu.itwin_ids[1] if api == "v1" else emu.v2_job(SeedV2.CALIBRATION)["iTwinId"]


def listed(emu: Emulator, api: str) -> list[dict[str, Any]]:
    return emu.bentley_jobs() if api == "v1" else emu.v2_jobs()


def url_of(emu: Emulator, api: str) -> str:
    return emu.reality_modeling_url if api == "v1" else emu.reality_modeling_v2_url


def job_to_create(emu: Emulator, api: str, scene: str = SCENE) -> dict[str, Any]:
    if api == "v1":
        workspace = next(
            j["workspaceId"] for j in listed(emu, api) if j["iTwinId"] == itwin_of(emu, api)
        )
        return {
            "type": "Full",
            "name": "created by the CLI",
            "workspaceId": workspace,
            "inputs": [{"id": scene}],
            "settings": {"quality": "Medium", "outputs": ["OBJ"]},
        }
    return {
        "type": "Reconstruction",
        "name": "created by the CLI",
        "iTwinId": itwin_of(emu, api),
        "specifications": {
            "inputs": {"scene": scene},
            "outputs": {"modelingReference": True, "exports": [{"format": "OBJ"}]},
        },
    }


def create(emu: Emulator, api: str, tmp_path: Path, **job: Any) -> str:
    path = tmp_path / "job.json"
    path.write_text(json.dumps({**job_to_create(emu, api), **job}))
    result = run(emu, api, "create", path, "--submit", "--json")
    assert result.returncode == 0, result.stderr
    job_id: str = json.loads(result.stdout)["id"]
    return job_id


def archived(out: Path, owner_of: Any) -> dict[tuple[str, str], str]:
    """``(container, blob name) → sha256`` of every output file the manifest records."""
    manifest = Manifest(out)
    manifest.load()
    return {
        (owner_of(e), e.key or ""): sha256_file(out / e.path)
        for e in manifest.entries.values()
        if e.kind != "job" and e.status == "ok"
    }


# -- v1 and v2 alike ----------------------------------------------------------------------


@both
def test_jobs_json_lists_what_the_emulator_holds(emu: Emulator, api: str) -> None:
    itwin = itwin_of(emu, api)
    result = run(emu, api, "jobs", "--filter", f"iTwinId eq {itwin}", "--top", "3", "--json")
    assert result.returncode == 0, result.stderr
    ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert ids == [j["id"] for j in listed(emu, api) if j["iTwinId"] == itwin]
    assert len(ids) > 3  # several pages, followed


@both
def test_job_json_is_the_body_the_service_sent(emu: Emulator, api: str) -> None:
    job_id = listed(emu, api)[0]["id"]
    result = run(emu, api, "job", job_id, "--json")
    assert result.returncode == 0, result.stderr
    request = urllib.request.Request(
        f"{url_of(emu, api)}/jobs/{job_id}",
        headers={"Authorization": f"Bearer {emu.config.bentley.token}", "Accept": ACCEPT[api]},
    )
    with urllib.request.urlopen(request) as resp:
        assert json.loads(result.stdout) == json.loads(resp.read())


@both
def test_archive_outputs_match_the_emulator_blobs(emu: Emulator, api: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    if api == "v1":
        itwin = itwin_of(emu, api)
        wanted = [
            o["id"]
            for j in emu.bentley_jobs()
            if j["iTwinId"] == itwin
            for o in j["jobSettings"]["outputs"]
            if o["format"] == "OBJ" and o["id"]
        ]
        expected = {(b.output_id, b.name): b.sha256 for i in wanted for b in emu.expected_blobs(i)}
        args = ["--filter", f"iTwinId eq {itwin}", "--outputs", "OBJ"]
        owner = lambda e: e.part_id  # noqa: E731
    else:
        jobs = [SeedV2.CALIBRATION, SeedV2.RECONSTRUCTION]
        expected = {(b.output_id, b.name): b.sha256 for j in jobs for b in emu.expected_v2_blobs(j)}
        args = ["--filter", " or ".join(f"id eq {j}" for j in jobs)]
        bucket = emu.bucket_container(itwin_of(emu, api))
        owner = lambda e: bucket if e.part_id.startswith("bkt:") else e.part_id  # noqa: E731
    result = run(emu, api, "archive", out, *args, "--json")
    assert result.returncode == 0, result.stderr
    assert "matched no output" not in result.stderr
    assert expected and json.loads(result.stdout)["downloaded"] == len(expected)
    assert archived(out, owner) == expected
    verified = hb("verify", out)
    assert verified.returncode == 0, verified.stdout


@both
@pytest.mark.parametrize("command", ["jobs", "archive"])
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("stat eq 'x'", "unknown property 'stat'"),
        ("(" * 500 + "state eq 'x'" + ")" * 500, "nested more than 32 deep"),
    ],
    ids=["unknown-property", "nested-500-deep"],
)
def test_a_filter_the_service_refuses_is_a_usage_error(
    emu: Emulator, api: str, command: str, text: str, reason: str, tmp_path: Path
) -> None:
    out = [tmp_path / "out"] if command == "archive" else []
    result = run(emu, api, command, *out, "--filter", text)
    assert result.returncode == 2, result.stderr
    line = error_line(result)
    assert line.startswith("hoverbentley: error: GET HTTP 4"), line
    assert reason in line
    assert not (tmp_path / "out").exists()  # a run refused at once leaves no empty OUT


def test_a_refused_run_leaves_an_out_that_was_there(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = run(emu, "v1", "archive", out, "--filter", "stat eq 'x'")
    assert result.returncode == 2, result.stderr
    assert out.is_dir() and [p.name for p in out.iterdir()] in ([], [".hoverbentley"])
    assert not (out / "manifest.jsonl").exists()


def test_outputs_that_match_nothing_are_named_with_the_outputs_there_are(
    emu: Emulator, tmp_path: Path
) -> None:
    # v2's output names are an open set, checked only against the jobs a run sees.
    jobs = [SeedV2.CALIBRATION, SeedV2.RECONSTRUCTION]
    names = {"scene", "report", "modelingReference", "exports/3DTiles", "exports/OBJ"}
    wanted = " or ".join(f"id eq {j}" for j in jobs)
    result = run(
        emu, "v2", "archive", tmp_path / "out", "--filter", wanted, "--outputs", "3DTilez,scene"
    )
    assert result.returncode == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if "matched no output" in line)
    assert "--outputs '3DTilez' matched no output of the jobs archived; their outputs are: " in (
        warning
    )
    assert "'scene'" not in warning
    assert warning.endswith(", ".join(sorted(names))), warning


def test_a_v1_format_the_api_does_not_document_is_selected_with_a_warning(
    emu: Emulator, tmp_path: Path
) -> None:
    """Jobs report formats beyond the documented list; a word far from every documented
    format selects them (a near one is a typo: tests/cli/test_habits.py)."""
    job = "31480a7c-09fa-4717-b361-d96ac459fa9e"  # outputs OBJ and Streamed Mesh (preview)
    out = tmp_path / "out"
    result = run(
        emu, "v1", "archive", out, "--filter", f"id eq {job}", "--outputs",
        "Streamed Mesh (preview)", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "--outputs 'Streamed Mesh (preview)' is no v1 format the API documents: taken as given"
        in result.stderr
    )
    assert "matched no output" not in result.stderr
    manifest = Manifest(out)
    manifest.load()
    files = [e for e in manifest.entries.values() if e.kind != "job"]
    assert files and {e.format for e in files} == {"Streamed Mesh (preview)"}
    assert all(e.status == "ok" for e in files)


@pytest.mark.parametrize(
    ("api", "change", "said"),
    [
        ("v1", {"type": "Nope"}, "type 'Nope' is not one the API takes: Calibration, Full,"),
        ("v1", {"settings": {"quality": "Ultra", "outputs": ["OBJ"]}}, "settings.quality 'Ultra'"),
        ("v1", {"settings": {"quality": "Draft", "outputs": ["OBJ", "LASX"]}},
         "settings.outputs[1] 'LASX' is not one the API takes: 3MX, 3SM,"),
        ("v2", {"iTwinId": "not-a-guid"}, "iTwinId needs a GUID, not 'not-a-guid'"),
        ("v2", {"specifications": {"inputs": {"scene": SCENE},
                                   "outputs": {"exports": [{"format": "LASX"}]}}},
         "outputs.exports[0].format 'LASX' is not one the API takes: 3DTiles, OBJ,"),
    ],
)  # fmt: skip
def test_create_refuses_what_the_api_would_before_sending(
    emu: Emulator, api: str, change: dict[str, Any], said: str, tmp_path: Path
) -> None:
    path = tmp_path / "job.json"
    path.write_text(json.dumps({**job_to_create(emu, api), **change}))
    before = len(emu.requests)
    result = run(emu, api, "create", path)
    assert result.returncode == 2, result.stderr
    line = error_line(result)
    assert line.startswith(f"hoverbentley: error: {path}: ") and said in line, line
    assert [r.method for r in emu.requests[before:]] == []  # nothing posted


@pytest.mark.parametrize(
    ("change", "target"),
    [
        ({"type": "Nope"}, "type"),
        ({"settings": {"quality": "Ultra", "outputs": ["OBJ"]}}, "settings.quality"),
        ({"settings": {"quality": "Draft", "outputs": ["LASX"]}}, "settings.outputs[0]"),
    ],
)
def test_the_emulator_refuses_v1_values_off_the_specs_enums(
    emu: Emulator, change: dict[str, Any], target: str
) -> None:
    body = json.dumps({**job_to_create(emu, "v1"), **change}).encode()
    request = urllib.request.Request(
        f"{url_of(emu, 'v1')}/jobs",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {emu.config.bentley.token}",
            "Content-Type": "application/json",
            "Accept": "application/vnd.bentley.v1+json",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 422
    details = json.loads(caught.value.read())["error"]["details"]
    assert [d["target"] for d in details] == [target]


@both
def test_names_from_the_service_cannot_break_a_listing_line(
    emu: Emulator, api: str, tmp_path: Path
) -> None:
    job_id = next(j["id"] for j in listed(emu, api) if j.get("name"))
    job = next(j for j in listed(emu, api) if j["id"] == job_id)
    name, job["name"] = job["name"], "evil\tname\nsecond line\x1b[31mred"  # as sent
    try:
        jobs = run(emu, api, "jobs", "--filter", f"id eq {job_id}")
        shown = run(emu, api, "job", job_id)
    finally:
        job["name"] = name
    assert jobs.returncode == shown.returncode == 0, jobs.stderr + shown.stderr
    (line,) = jobs.stdout.splitlines()
    cells = line.split("\t")
    assert len(cells) == 5 and cells[0] == job_id
    assert cells[4] == "evil name second line [31mred"
    assert "\x1b" not in jobs.stdout + shown.stdout
    assert shown.stdout.splitlines()[0].startswith(f"job {job_id}: evil name second line [31mred")


@both
def test_create_then_wait_to_success(emu: Emulator, api: str, tmp_path: Path) -> None:
    job_id = create(emu, api, tmp_path)
    if api == "v2":
        emu.set_v2_progress(job_id, 100)
    result = run(emu, api, "wait", job_id, "--poll-interval", "0", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["state"] == ("success" if api == "v1" else "Success")
    assert emu.requests_to("bentley", f"/jobs/{job_id}/progress")


@both
def test_cancel_then_wait_is_exit_1(emu: Emulator, api: str, tmp_path: Path) -> None:
    job_id = create(emu, api, tmp_path)
    cancelled = run(emu, api, "cancel", job_id)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.split("\t")[1].strip() == (
        "cancelled" if api == "v1" else "TerminatingOnCancel"
    )
    waited = run(emu, api, "wait", job_id, "--poll-interval", "0")
    assert waited.returncode == 1
    final = "cancelled" if api == "v1" else "Cancelled"
    assert waited.stderr.splitlines()[-1] == f"hoverbentley: job {job_id} ended {final}"


# -- v2 only ------------------------------------------------------------------------------


def test_v2_wait_follows_the_progress_as_it_moves(emu: Emulator, tmp_path: Path) -> None:
    job_id = create(emu, "v2", tmp_path)
    polls = f"/jobs/{job_id}/progress"
    argv = [*HB, "bentley", "wait", job_id, "--poll-interval", "0.05", *FAST]
    with subprocess.Popen(
        argv, env=env(emu, "v2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        for percentage in (40, 100):
            _await_polls(emu, polls, len(emu.requests_to("bentley", polls)) + 2)
            emu.set_v2_progress(job_id, percentage)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert stderr.splitlines() == [
        f"job {job_id}: 0% Queued",
        f"job {job_id}: 40% Active",
        f"job {job_id}: 100% Success",
    ]
    assert "[Success] Reconstruction" in stdout.splitlines()[0]


def _await_polls(emu: Emulator, fragment: str, count: int) -> None:
    """Until the CLI has polled ``count`` times (a bound only against a hung process)."""
    deadline = time.monotonic() + 60
    while len(emu.requests_to("bentley", fragment)) < count:
        assert time.monotonic() < deadline, "the CLI stopped polling"
        time.sleep(0.01)


def test_v2_cancel_close_to_the_end_is_refused_with_the_reason(
    emu: Emulator, tmp_path: Path
) -> None:
    job_id = create(emu, "v2", tmp_path)
    emu.set_v2_progress(job_id, 97)
    result = run(emu, "v2", "cancel", job_id)
    assert result.returncode == 1
    line = error_line(result)
    assert line.startswith(f"hoverbentley: error: job {job_id} cannot be cancelled now: ")
    assert "(HTTP 422)" in line
    assert emu.v2_job(job_id)["state"] == "Active"


def test_v2_failed_job_prints_its_messages(emu: Emulator, tmp_path: Path) -> None:
    failing = emu.config.bentley.v2_failing_input
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job_to_create(emu, "v2", scene=failing)))
    job_id = run(emu, "v2", "create", path).stdout.split()[0]
    emu.set_v2_progress(job_id, 60)
    result = run(emu, "v2", "wait", job_id, "--poll-interval", "0", "-q")
    assert result.returncode == 1
    [error] = emu.v2_messages(job_id)["errors"]
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error {error['code']}: ")
    assert lines[-1] == f"hoverbentley: job {job_id} ended Failed"


def test_v2_seed_failed_job_and_its_messages(emu: Emulator) -> None:
    result = run(emu, "v2", "wait", SeedV2.FAILED)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-2].startswith("error InputData_Invalid: ")
    assert emu.requests_to("bentley", f"/jobs/{SeedV2.FAILED}/messages")


def test_reality_analysis_jobs_through_service_analysis(emu: Emulator) -> None:
    itwin = itwin_of(emu, "v2")
    result = hb(
        "bentley",
        "jobs",
        "--service",
        "analysis",
        "--filter",
        f"iTwinId eq {itwin}",
        "--json",
        *FAST,
        env={**env(emu, "v2"), "BENTLEY_API": ""},
    )
    assert result.returncode == 0, result.stderr
    ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert ids == [j["id"] for j in emu.v2_jobs("analysis") if j["iTwinId"] == itwin]
    assert SeedV2.OBJECTS2D in ids


def test_v2_url_given_to_v1_is_a_clear_404(emu: Emulator) -> None:
    result = hb(
        "bentley",
        "job",
        SeedV2.CALIBRATION,
        "--api",
        "v1",
        "--base-url",
        emu.reality_modeling_v2_url,
        *FAST,
        env=env(emu, "v1"),
    )
    assert result.returncode == 1
    assert "404" in error_line(result)
