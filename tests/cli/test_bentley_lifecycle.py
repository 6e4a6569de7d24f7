"""``bentley create | cancel | wait`` in real processes: v1 against the emulator, v2 against a
small service that answers each case just so."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.emulator.config import BentleyConfig
from tests.support import HB, cli_env

from .helpers import FAST, bentley_env, error_line, hb, run_on_terminal
from .v2server import ITWIN, TOKEN, V2Service, v2_service

SCENE = "7e8bd05b-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    # Three progress polls take an active job to 100 % (34, 68, 100).
    config = EmulatorConfig(jobs=0, bentley=BentleyConfig(progress_step=34))
    with Emulator.threaded(config) as emulator:
        yield emulator


@pytest.fixture
def service() -> Iterator[V2Service]:
    with v2_service() as running:
        yield running


def v1_job(emu: Emulator) -> dict[str, Any]:
    workspace = next(
        j["workspaceId"] for j in emu.bentley_jobs() if j["iTwinId"] == emu.itwin_ids[1]
    )
    return {
        "type": "Full",
        "name": "CLI lifecycle",
        "workspaceId": workspace,
        "inputs": [{"id": SCENE}],
        "settings": {"quality": "Medium", "outputs": ["OBJ"]},
    }


def v2_job() -> dict[str, Any]:
    return {
        "type": "Reconstruction",
        "name": "CLI lifecycle",
        "iTwinId": ITWIN,
        "specifications": {
            "inputs": {"scene": SCENE},
            "outputs": {"modelingReference": True, "exports": [{"format": "3DTiles"}]},
        },
    }


def job_file(tmp_path: Path, job: Any) -> Path:
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job))
    return path


def v1(emu: Emulator, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return hb("bentley", *args, *FAST, env=bentley_env(emu))


def v2(service: V2Service, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = cli_env(BENTLEY_TOKEN=TOKEN, BENTLEY_V2_BASE_URL=service.url)
    return hb("bentley", *args, "--api", "v2", *FAST, env=env)


def emulated(emu: Emulator, job_id: str) -> dict[str, Any]:
    return next(j for j in emu.bentley_jobs() if j["id"] == job_id)


# -- v1 ------------------------------------------------------------------------------------


def test_v1_create_makes_an_unsubmitted_job_and_says_so(emu: Emulator, tmp_path: Path) -> None:
    result = v1(emu, "create", job_file(tmp_path, v1_job(emu)))
    assert result.returncode == 0, result.stderr
    job_id, state = result.stdout.strip().split("\t")
    assert state == "unsubmitted"
    assert emulated(emu, job_id)["state"] == "unsubmitted"
    assert emu.requests_to("bentley", f"/jobs/{job_id}") == []  # no PATCH
    assert "not submitted (v1): --submit also starts it" in result.stderr

    waited = v1(emu, "wait", job_id, "--poll-interval", "0")
    assert waited.returncode == 2
    assert "is not submitted: submit it first" in waited.stderr.splitlines()[-1]


def test_v1_create_submit_then_wait_to_success(emu: Emulator, tmp_path: Path) -> None:
    created = v1(emu, "create", job_file(tmp_path, v1_job(emu)), "--submit", "--json")
    assert created.returncode == 0, created.stderr
    job = json.loads(created.stdout)
    assert job["state"] == "active" and created.stderr == ""

    waited = v1(emu, "wait", job["id"], "--poll-interval", "0")
    assert waited.returncode == 0, waited.stderr
    assert waited.stderr.splitlines() == [
        f"job {job['id']}: 34% Active (Production)",
        f"job {job['id']}: 68% Active (Production)",
        f"job {job['id']}: 100% Over",
    ]
    produced = emulated(emu, job["id"])["jobSettings"]["outputs"][0]["id"]
    assert waited.stdout.splitlines()[0] == f"job {job['id']}: CLI lifecycle [success] Full"
    assert f"  output OBJ: {produced}" in waited.stdout.splitlines()
    assert len(emu.requests_to("bentley", f"/jobs/{job['id']}/progress")) == 3


def test_v1_cancel_then_wait_exits_1(emu: Emulator, tmp_path: Path) -> None:
    job_id = v1(emu, "create", job_file(tmp_path, v1_job(emu)), "--submit").stdout.split()[0]
    cancelled = v1(emu, "cancel", job_id)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout == f"{job_id}\tcancelled\n"
    assert emulated(emu, job_id)["state"] == "cancelled"

    waited = v1(emu, "wait", job_id, "--poll-interval", "0", "--json")
    assert waited.returncode == 1
    assert json.loads(waited.stdout)["state"] == "cancelled"
    assert waited.stderr.splitlines()[-1] == f"hoverbentley: job {job_id} ended cancelled"

    again = v1(emu, "cancel", job_id)
    assert again.returncode == 1
    assert "Cannot cancel job" in error_line(again)


def test_wait_gives_up_after_max_wait(emu: Emulator, tmp_path: Path) -> None:
    job_id = v1(emu, "create", job_file(tmp_path, v1_job(emu)), "--submit").stdout.split()[0]
    # The next poll would come after the deadline: one poll, then a clear message.
    waited = v1(emu, "wait", job_id, "--poll-interval", "30", "--max-wait", "0")
    assert waited.returncode == 1
    assert waited.stdout == ""
    last = waited.stderr.splitlines()[-1]
    assert last.startswith("hoverbentley: error: gave up waiting after --max-wait 0 s:")
    assert f"job {job_id} still running" in last
    assert f"hoverbentley bentley cancel {job_id} stops it" in last
    assert len(emu.requests_to("bentley", f"/jobs/{job_id}/progress")) == 1


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"bogus": 1}, "unknown field $.bogus (the service refuses it)"),
        (
            {"settings": {"quality": "Medium", "outputs": ["OBJ"], "colour": 1}},
            "unknown field $.settings.colour",
        ),
        ({"workspaceId": None}, "Expected `str`, got `null` - at `$.workspaceId`"),
        ({"inputs": "x"}, "Expected `array`, got `str` - at `$.inputs`"),
    ],
    ids=["unknown-top", "unknown-nested", "null-workspace", "inputs-not-a-list"],
)
def test_v1_bad_file_is_exit_2_naming_the_field_and_nothing_is_sent(
    emu: Emulator, tmp_path: Path, change: dict[str, Any], fragment: str
) -> None:
    before = len(emu.requests_to("bentley", "/contextcapture/jobs"))
    result = v1(emu, "create", job_file(tmp_path, {**v1_job(emu), **change}))
    assert result.returncode == 2
    assert fragment in error_line(result)
    assert len(emu.requests_to("bentley", "/contextcapture/jobs")) == before


def test_a_v2_file_given_to_v1_gets_a_hint(emu: Emulator, tmp_path: Path) -> None:
    result = v1(emu, "create", job_file(tmp_path, v2_job()))
    assert result.returncode == 2
    assert error_line(result).endswith("; this looks like a v2 job: pass --api v2")


def test_missing_field_and_not_json_and_no_file(emu: Emulator, tmp_path: Path) -> None:
    job = v1_job(emu)
    del job["workspaceId"]
    missing = v1(emu, "create", job_file(tmp_path, job))
    assert missing.returncode == 2
    assert "missing required field `workspaceId`" in error_line(missing)

    (tmp_path / "bad.json").write_text("{not json")
    bad = v1(emu, "create", tmp_path / "bad.json")
    assert bad.returncode == 2
    assert f"job file {tmp_path / 'bad.json'} is not JSON" in error_line(bad)

    absent = v1(emu, "create", tmp_path / "absent.json")
    assert absent.returncode == 2
    assert "cannot read job file" in error_line(absent)


# -- v2 ------------------------------------------------------------------------------------


def test_v2_create_sends_the_file_and_prints_id_and_state(
    service: V2Service, tmp_path: Path
) -> None:
    result = v2(service, "create", job_file(tmp_path, v2_job()))
    assert result.returncode == 0, result.stderr
    job_id, state = result.stdout.strip().split("\t")
    assert state == "Active" and result.stderr == ""
    [post] = service.requests("POST", "/reality-modeling/jobs")
    assert post.body == v2_job()
    assert service.jobs[job_id]["name"] == "CLI lifecycle"


def test_v2_create_reads_standard_input(service: V2Service) -> None:
    env = cli_env(BENTLEY_TOKEN=TOKEN, BENTLEY_V2_BASE_URL=service.url)
    result = subprocess.run(
        [*HB, "bentley", "create", "-", "--api", "v2", "--json"],
        input=json.dumps(v2_job()),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["type"] == "Reconstruction"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            {"workspaceId": "x"},
            "unknown field $.workspaceId (the service refuses it); this looks like a v1 job:"
            " drop --api v2 (v1 is the default)",
        ),
        ({"type": "Fly"}, "unknown Reality Modeling job type 'Fly'"),
        ({"iTwinId": None}, "`$.iTwinId`"),
        (
            {"specifications": {"inputs": {}, "outputs": {}}},
            "Reconstruction specifications: Object missing required field `scene`",
        ),
        (
            {"specifications": {"inputs": {"scene": SCENE, "scenery": SCENE}, "outputs": {}}},
            "unknown field $.inputs.scenery",
        ),
        ({"type": "Objects2D"}, "Objects2D is a Reality Analysis job: pass --service analysis"),
    ],
    ids=["v1-field", "unknown-type", "null-itwin", "no-scene", "unknown-input", "analysis-type"],
)
def test_v2_bad_file_is_exit_2_naming_the_field_and_nothing_is_sent(
    service: V2Service, tmp_path: Path, change: dict[str, Any], fragment: str
) -> None:
    result = v2(service, "create", job_file(tmp_path, {**v2_job(), **change}))
    assert result.returncode == 2
    assert fragment in error_line(result)
    assert service.seen == []


def test_a_modeling_job_is_not_sent_to_reality_analysis(service: V2Service, tmp_path: Path) -> None:
    env = cli_env(BENTLEY_TOKEN=TOKEN, BENTLEY_ANALYSIS_BASE_URL=service.url)
    path = job_file(tmp_path, v2_job())
    result = hb("bentley", "create", path, "--service", "analysis", *FAST, env=env)
    assert result.returncode == 2
    assert "Reconstruction is a Reality Modeling job, not one of Reality Analysis" in (
        error_line(result)
    )
    assert service.seen == []


def test_v2_cancel_deletes_and_prints_terminating(service: V2Service) -> None:
    job_id = "00000000-0000-4000-8000-00000000000a"
    service.add_job(job_id)
    result = v2(service, "cancel", job_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{job_id}\tTerminatingOnCancel\n"
    assert [s.path_qs for s in service.requests("DELETE")] == [f"/reality-modeling/jobs/{job_id}"]


def test_v2_cancel_refused_is_exit_1_with_the_service_reason(service: V2Service) -> None:
    job_id = "00000000-0000-4000-8000-00000000000b"
    service.add_job(job_id)
    service.refuse_cancel.add(job_id)
    result = v2(service, "cancel", job_id)
    assert result.returncode == 1
    assert error_line(result) == (
        f"hoverbentley: error: job {job_id} cannot be cancelled now: The job is about to"
        " complete. Cancellation is not allowed during this period. (HTTP 422)"
    )


def test_v2_wait_success_shows_progress_and_the_job(service: V2Service) -> None:
    job_id = "00000000-0000-4000-8000-00000000000c"
    service.add_job(job_id)
    service.progress[job_id] = [(10, "Active"), (10, "Active"), (55.5, "Active"), (100, "Success")]
    result = v2(service, "wait", job_id, "--poll-interval", "0")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"job {job_id}: 10% Active",
        f"job {job_id}: 55.5% Active",
        f"job {job_id}: 100% Success",
    ]
    assert result.stdout.splitlines()[0] == f"job {job_id}: job 00000000 [Success] Reconstruction"
    assert len(service.requests("GET", f"/jobs/{job_id}/progress")) == 4
    assert service.requests("GET", "/messages") == []


def test_v2_wait_failed_prints_the_job_messages_and_exits_1(service: V2Service) -> None:
    job_id = "00000000-0000-4000-8000-00000000000d"
    service.add_job(job_id)
    service.progress[job_id] = [(40, "Active"), (40, "TerminatingOnFailure"), (40, "Failed")]
    service.messages[job_id] = {
        "errors": [
            {
                "code": "InputData_Invalid",
                "title": "Invalid input",
                "message": "Input %1 is not a %2.",
                "params": ["scene", "ContextScene"],
            }
        ],
        "warnings": [{"code": "W1", "title": "t", "message": "Few photos", "params": []}],
    }
    result = v2(service, "wait", job_id, "--poll-interval", "0", "-q")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error InputData_Invalid: Input scene is not a ContextScene.",
        "warning W1: Few photos",
        f"hoverbentley: job {job_id} ended Failed",
    ]
    assert "[Failed]" in result.stdout.splitlines()[0]


def test_unknown_job_is_exit_1(service: V2Service) -> None:
    result = v2(service, "wait", "00000000-0000-4000-8000-0000000000ff")
    assert result.returncode == 1
    assert "JobNotFound" in error_line(result)


def test_wait_on_a_terminal_redraws_one_line_and_clears_it(emu: Emulator, tmp_path: Path) -> None:
    job_id = v1(emu, "create", job_file(tmp_path, v1_job(emu)), "--submit").stdout.split()[0]
    argv = [*HB, "bentley", "wait", job_id, "--poll-interval", "0", *FAST]
    result, terminal = run_on_terminal(argv, bentley_env(emu), columns=50)
    assert result.returncode == 0
    assert "\n" not in terminal  # every state drawn over the last, in place
    drawn = [part.removesuffix("\x1b[K") for part in terminal.split("\r") if part]
    # 50 columns hold no "job <id>: " before the progress: the progress is what is shown.
    assert drawn == ["34% Active (Production)", "68% Active (Production)", "100% Over", ""]
    wide, shown = run_on_terminal(argv, bentley_env(emu), columns=120)
    assert wide.returncode == 0
    assert [p.removesuffix("\x1b[K") for p in shown.split("\r") if p] == [
        f"job {job_id}: 100% Over",
        "",
    ]
