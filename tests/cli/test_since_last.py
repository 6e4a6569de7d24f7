"""``--since last``: the mark in OUT, how a run uses it, and which runs move it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from hoverbentley.archive.unfinished import FINAL
from hoverbentley.emulator import BentleyConfig, Emulator, EmulatorConfig, FaultConfig
from tests.support import cli_env

from .helpers import FAST, error_line, hb, hover_env

MARK = Path(".hoverbentley") / "last-run.json"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    # v2 jobs move only when a test moves them: the Active seed job stays active.
    bentley = BentleyConfig(itwins=1, jobs_per_itwin=3, v2_percent_per_second=0)
    config = EmulatorConfig(jobs=2, bentley=bentley)
    with Emulator.threaded(config) as emulator:
        yield emulator


def started(out: Path) -> list[datetime]:
    runs = json.loads((out / MARK).read_text())["runs"]
    return [datetime.fromisoformat(r["started"].replace("Z", "+00:00")) for r in runs.values()]


def hover_archive(emu: Emulator, out: Path, *args: str) -> tuple[int, str, str]:
    result = hb("hover", "archive", out, "--all", *FAST, *args, env=hover_env(emu))
    return result.returncode, result.stdout, result.stderr


def listed_since(emu: Emulator) -> list[str | None]:
    """The ``updated_since`` of every job listing Hover saw, in order."""
    seen = []
    for r in emu.requests_to("hover", "/api/v3/jobs"):
        if r.path_qs.split("?")[0].rstrip("/") == "/api/v3/jobs":
            seen.append(parse_qs(urlsplit(r.path_qs).query).get("updated_since", [None])[0])
    return seen


def test_hover_first_run_archives_everything_then_lists_from_the_mark(
    emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    before = len(listed_since(emu))
    status, stdout, stderr = hover_archive(emu, out, "--since", "last", "--json")
    assert status == 0, stderr
    assert "no complete run of this selection" in stderr
    assert json.loads(stdout)["jobs"] == len(emu.job_ids(archived=False)) > 0
    assert listed_since(emu)[before:] == [None]
    [mark] = started(out)

    status, stdout, stderr = hover_archive(emu, out, "--since", "last", "--json")
    assert status == 0, stderr
    since = listed_since(emu)[before + 1 :]
    assert since and all(s is not None for s in since)
    # The listing starts ten minutes before the last run started (clock skew between hosts).
    # Hover takes epoch seconds.
    assert abs(float(str(since[0])) - (mark - timedelta(minutes=10)).timestamp()) < 1
    assert json.loads(stdout)["jobs"] == 0
    [moved] = started(out)
    assert moved > mark
    assert hb("verify", out).returncode == 0  # the mark is not an extra file


def test_hover_failed_run_keeps_the_mark(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert hover_archive(emu, out, "--include", "json", "--since", "last")[0] == 0
    before = (out / MARK).read_bytes()
    no_retry = ("--max-retries", "0", "--retries", "0", "--max-outage", "0.5")
    emu.set_faults("storage", FaultConfig(error_500=1.0))
    try:
        # A new selection (images) whose files fail: no mark of its own appears.
        status, _, _ = hover_archive(emu, out, "--include", "images", "--since", "last", *no_retry)
    finally:
        emu.set_faults("storage", None)
    assert status == 1
    assert (out / MARK).read_bytes() == before
    emu.set_faults("hover", FaultConfig(error_500=1.0))
    try:
        # The same selection again, with the API failing: its mark stays where it was.
        status, _, _ = hover_archive(emu, out, "--include", "json", "--since", "last", *no_retry)
    finally:
        emu.set_faults("hover", None)
    assert status == 1
    assert (out / MARK).read_bytes() == before


def test_runs_without_since_last_leave_out_as_before(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for args in ((), ("--since", "2020-01-01"), ("--since", "last", "--dry-run")):
        status, _, stderr = hover_archive(emu, out, *args)
        assert status == 0, stderr
    job = str(emu.job_ids()[0])
    result = hb("hover", "archive", out, "--job", job, *FAST, env=hover_env(emu))
    assert result.returncode == 0, result.stderr
    assert not (out / MARK).exists()


def test_a_damaged_mark_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / MARK).parent.mkdir(parents=True)
    (out / MARK).write_text("{not json")
    result = hb("hover", "archive", out, "--all", "--since", "last", env=hover_env(None))
    assert result.returncode == 2
    assert str(out / MARK) in error_line(result)


def test_a_mark_with_a_start_time_that_is_no_date_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / MARK).parent.mkdir(parents=True)
    selection = {"provider": "hover", "base_url": "http://127.0.0.1:9", "user": "a@b.example"}
    selection |= {"archived": False, "include": None, "exclude": None}
    key = json.dumps(selection, sort_keys=True, separators=(",", ":"))
    (out / MARK).write_text(json.dumps({"runs": {key: {"started": "not-a-date"}}}))
    result = hb("hover", "archive", out, "--all", "--since", "last", env=hover_env(None))
    assert result.returncode == 2
    assert f"{out / MARK}: entry without a valid 'started' time" in error_line(result)


def test_a_password_in_the_base_url_is_not_written_into_out(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    site = emu.hover_url.replace("http://", "http://ops:PASSW0RD@")
    env = hover_env(emu, HOVER_BASE_URL=site)
    for _ in range(2):  # the second run finds the first's mark, and changes no line
        result = hb("hover", "archive", out, "--all", "--since", "last", *FAST, env=env)
        assert result.returncode == 0, result.stderr
    written = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "manifest.jsonl" for p in written)
    for path in written:
        assert b"PASSW0RD" not in path.read_bytes(), path
    assert "ops:REDACTED@" in (out / MARK).read_text()
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == len({json.loads(line)["path"] for line in lines})  # one line a file


def bentley(emu: Emulator, *args: str | Path, api: str = "v1") -> tuple[int, str, str]:
    env = cli_env(
        BENTLEY_API=api,
        BENTLEY_V2_BASE_URL=emu.reality_modeling_v2_url,
        BENTLEY_TOKEN=emu.config.bentley.token,
        BENTLEY_BASE_URL=emu.reality_modeling_url,
        BENTLEY_REALITY_URL=emu.reality_management_url,
    )
    result = hb("bentley", *args, *FAST, env=env)
    return result.returncode, result.stdout, result.stderr


def filters_sent(emu: Emulator) -> list[str]:
    return [
        parse_qs(urlsplit(r.path_qs).query)["$filter"][0]
        for r in emu.requests_to("bentley", "$filter=")
    ]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_bentley_since_last_ands_created_after_the_mark(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    itwin = emu.bentley_jobs()[0]["iTwinId"]
    wanted = f"iTwinId eq {itwin}"
    jobs = [j for j in emu.bentley_jobs() if j["iTwinId"] == itwin]
    args = ("archive", out, "--filter", wanted, "--records-only", "--since", "last", "--json")
    sent = len(filters_sent(emu))
    status, stdout, stderr = bentley(emu, *args)
    assert status == 0, stderr
    assert json.loads(stdout)["jobs"] == len(jobs)
    assert filters_sent(emu)[sent:] == [wanted]
    [mark] = json.loads((out / MARK).read_text())["runs"].values()
    # The mark: the run's start, or the creation of the oldest job still running, if older.
    running = [when(j["createdDateTime"]) for j in jobs if j["state"] not in FINAL]
    assert when(mark.get("since", mark["started"])) == min([*running, when(mark["started"])])
    since = when(mark.get("since", mark["started"])) - timedelta(minutes=10)

    sent = len(filters_sent(emu))
    status, stdout, stderr = bentley(emu, *args)
    assert status == 0, stderr
    again = [j for j in jobs if when(j["createdDateTime"]) > since]
    assert json.loads(stdout)["jobs"] == len(again)
    [text] = filters_sent(emu)[sent:]
    assert text.startswith(f"({wanted}) and createdDateTime gt {since:%Y-%m-%dT%H:%M:%S}")

    # Another filter has a mark of its own: its first run archives everything it selects.
    status, stdout, stderr = bentley(
        emu, "archive", out, "--filter", f"iTwinId eq {itwin} and state ne 'x'",
        "--records-only", "--since", "last", "--json",
    )  # fmt: skip
    assert status == 0, stderr
    assert json.loads(stdout)["jobs"] == len(jobs)
    assert len(started(out)) == 2


def test_bentley_mark_stays_at_the_oldest_job_still_running(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    active = next(j for j in emu.v2_jobs() if j["state"] == "Active")
    done = next(j for j in emu.v2_jobs() if j["state"] == "Success")
    wanted = f"id eq {active['id']} or id eq {done['id']}"
    args = ("archive", out, "--filter", wanted, "--records-only", "--since", "last", "--json")
    status, stdout, stderr = bentley(emu, *args, api="v2")
    assert status == 0, stderr
    assert json.loads(stdout)["jobs"] == 2
    [mark] = json.loads((out / MARK).read_text())["runs"].values()
    created = when(active["executionInfo"]["createdDateTime"])
    assert when(mark["since"]) == created

    # The job still running is listed again (and the one that had finished is not, when it is
    # older than the running one).
    status, stdout, stderr = bentley(emu, *args, api="v2")
    assert status == 0, stderr
    since = (created - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S")
    assert filters_sent(emu)[-1].startswith(f"({wanted}) and createdDateTime gt {since}")
    finished_before = when(done["executionInfo"]["createdDateTime"]) < created
    assert json.loads(stdout)["jobs"] == (1 if finished_before else 2)
