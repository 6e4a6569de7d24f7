"""``hoverbentley serve`` as a process: events archived, SIGTERM, SIGKILL and restart, the
catch-up sweep, an object-store OUT."""

from __future__ import annotations

import hashlib
import json
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import (
    SMALL_SIZES,
    assert_complete,
    hold_big_files,
)
from tests.objectstore.conftest import Store
from tests.objectstore.conftest import moto_endpoint as moto_endpoint  # fixtures
from tests.objectstore.conftest import s3 as s3
from tests.objectstore.helpers import objects
from tests.serve.helpers import HELD, HOVER_SECRET, hover_body, hover_headers
from tests.support import HB, bentley_env, hover_env, user_email

FAST = ("--requests-per-minute", "0", "--max-retries", "2")


class Serving:
    """A ``serve`` process: its stderr read line by line in a thread, its URL once it listens."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.url = self.wait_for(r"listening on (http://\S+)").group(1)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put("")  # the end

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The next line matching ``pattern`` (the process printing it is the event waited
        for; the timeout only turns a hang into a failure)."""
        while True:
            try:
                line = self.lines.get(timeout=120)
            except queue.Empty:
                raise AssertionError(f"no line {pattern!r}: {''.join(self.seen)[-3000:]}") from None
            if not line:
                raise AssertionError(f"exited before {pattern!r}: {''.join(self.seen)[-3000:]}")
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match

    def archived(self, count: int) -> set[str]:
        return {self.wait_for(r"hover job (\d+) archived").group(1) for _ in range(count)}

    def post(self, body: bytes) -> int:
        request = urllib.request.Request(
            f"{self.url}/hooks/hover", data=body, headers=hover_headers(body, uri="/hooks/hover")
        )
        try:
            with urllib.request.urlopen(request) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def stderr(self) -> str:
        """Everything it wrote (call after it exited)."""
        while True:
            line = self.lines.get(timeout=30)
            if not line:
                return "".join(self.seen)
            self.seen.append(line)


def serve_command(
    emu: Emulator, out: str, *args: str, **env: str
) -> tuple[list[str], dict[str, str]]:
    """The command line and the environment of ``serve OUT`` over the emulator."""
    command = [*HB, "-v", "serve", out, "--port", "0", *FAST, *args]
    bentley = {k: v for k, v in bentley_env(emu).items() if k.startswith("BENTLEY_")}
    bentley["BENTLEY_V2_BASE_URL"] = emu.reality_modeling_v2_url
    bentley["BENTLEY_WEBHOOKS_BASE_URL"] = emu.webhooks_url
    given = hover_env(emu, **{"HOVER_WEBHOOK_SECRET": HOVER_SECRET, **bentley, **env})
    return command, {k: v for k, v in given.items() if v}  # "": not set


@contextmanager
def serving(emu: Emulator, out: str, *args: str, **env: str) -> Iterator[Serving]:
    command, environment = serve_command(emu, out, *args, **env)
    proc = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
    server: Serving | None = None
    try:
        server = Serving(proc)
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if server is not None:
            server.reader.join()
        assert proc.stderr is not None
        proc.stderr.close()


def terminate(server: Serving, how: signal.Signals = signal.SIGTERM) -> str:
    """SIGTERM (or ``how``); the exit status must be 0; everything it wrote."""
    server.proc.send_signal(how)
    assert server.proc.wait(timeout=120) == 0, server.stderr()
    return server.stderr()


def test_ctrl_c_drains_as_sigterm_does_with_status_0(tmp_path: Path) -> None:
    config = EmulatorConfig(jobs=2, include_seed_jobs=False, sizes=SMALL_SIZES)
    with Emulator.threaded(config) as emu:
        out = tmp_path / "out"
        (job_id,) = emu.job_ids()[:1]
        with serving(emu, str(out), "--sweep-interval", "0") as server:
            assert server.post(hover_body(job_id)) == 202
            assert server.archived(1) == {str(job_id)}
            logged = terminate(server, signal.SIGINT)
        assert "Ctrl-C: draining" in logged
        assert_complete(out, emu, [job_id], expected=emu.expected_files(job_id))


def test_a_second_service_on_the_same_state_directory_exits_1_and_names_the_holder(
    tmp_path: Path,
) -> None:
    config = EmulatorConfig(jobs=2, include_seed_jobs=False, sizes=SMALL_SIZES)
    with Emulator.threaded(config) as emu:
        out = tmp_path / "out"
        job_id = emu.job_ids()[0]
        with serving(emu, str(out), "--sweep-interval", "0") as first:
            command, environment = serve_command(emu, str(out), "--sweep-interval", "0")
            # Without the lock the second would serve on: the timeout turns that into a failure.
            second = subprocess.run(
                command, env=environment, capture_output=True, text=True, timeout=60
            )
            assert second.returncode == 1, second.stderr
            state = out / ".hoverbentley" / "serve"
            holder = f"process {first.proc.pid} on {socket.gethostname()}"
            assert f"the state directory {state} is in use by {holder}" in second.stderr
            assert "Traceback" not in second.stderr and "listening" not in second.stderr
            assert first.post(hover_body(job_id)) == 202  # the first serves on
            assert first.archived(1) == {str(job_id)}
            terminate(first)
        with serving(emu, str(out), "--sweep-interval", "0") as again:  # released at exit
            terminate(again)
        assert_complete(out, emu, [job_id], expected=emu.expected_files(job_id))


def test_events_are_archived_and_sigterm_drains_with_status_0(tmp_path: Path) -> None:
    config = EmulatorConfig(jobs=6, include_seed_jobs=False, sizes=SMALL_SIZES)
    with Emulator.threaded(config) as emu:
        out = tmp_path / "out"
        job_ids = emu.job_ids()[:5]
        with serving(emu, str(out), "--sweep-interval", "0") as server:
            for job_id in job_ids:
                assert server.post(hover_body(job_id)) == 202
            assert server.post(hover_body(job_ids[0])) == 200  # a retried delivery
            assert server.archived(5) == {str(j) for j in job_ids}
            logged = terminate(server)
        assert_complete(
            out, emu, job_ids, expected=[f for j in job_ids for f in emu.expected_files(j)]
        )
    assert "draining" in logged
    assert HOVER_SECRET not in logged and emu.config.token not in logged


def test_a_sigkill_mid_archive_loses_no_acknowledged_event(tmp_path: Path) -> None:
    with Emulator.threaded(replace(HELD, jobs=3)) as emu:
        out = tmp_path / "out"
        job_ids = emu.job_ids()
        hold_big_files(emu, 1)  # the first job's big PDF stops half-way: the run is held there
        with serving(emu, str(out), "--sweep-interval", "0", "--stall-timeout", "600") as server:
            for job_id in job_ids:
                assert server.post(hover_body(job_id)) == 202  # acknowledged: journaled
            deadline = time.monotonic() + 60
            while not _part_files(out):  # the held body has reached the disk
                assert server.proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            server.proc.kill()
            server.proc.wait()
            server.stderr()
        # Runs are one at a time and the first holds the first job: nothing was archived yet.
        assert not [line for line in server.seen if "archived" in line]

        with serving(emu, str(out), "--sweep-interval", "0") as again:
            assert again.archived(3) == {str(j) for j in job_ids}
            terminate(again)
        assert_complete(out, emu, job_ids)


def _part_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*.part") if p.stat().st_size > 0]


def test_the_catch_up_sweep_at_start_archives_what_no_event_named(tmp_path: Path) -> None:
    config = EmulatorConfig(jobs=3, include_seed_jobs=False, sizes=SMALL_SIZES)
    with Emulator.threaded(config) as emu:
        out = tmp_path / "out"
        with serving(emu, str(out)) as server:
            server.wait_for(r"catch-up sweep: 3 jobs")
            terminate(server)
        assert_complete(out, emu, emu.job_ids())
        marks = json.loads((out / ".hoverbentley" / "last-run.json").read_bytes())["runs"]
        assert [json.loads(k)["provider"] for k in marks] == ["hover"]


def test_an_s3_out_is_archived_the_same(s3: Store, tmp_path: Path) -> None:
    config = EmulatorConfig(jobs=3, include_seed_jobs=False, sizes=SMALL_SIZES)
    with Emulator.threaded(config) as emu:
        job_ids = emu.job_ids()
        args = ("--sweep-interval", "0", "--state-dir", str(tmp_path / "state"))
        with serving(emu, s3.url(), *args) as server:
            for job_id in job_ids:
                assert server.post(hover_body(job_id)) == 202
            assert server.archived(3) == {str(j) for j in job_ids}
            terminate(server)
        stored = objects(s3)
        manifest = [json.loads(line) for line in stored["manifest.jsonl"].splitlines()]
        assert all(n == 1 for n in Counter(e["path"] for e in manifest).values())
        files = {e["url"]: e for e in manifest if e["kind"] != "job"}
        expected = emu.expected_files()
        assert {f.url: f.sha256 for f in expected} == {u: e["sha256"] for u, e in files.items()}
        for entry in files.values():
            assert hashlib.sha256(stored[entry["path"]]).hexdigest() == entry["sha256"]
        assert sorted(e["path"] for e in manifest if e["kind"] == "job") == sorted(
            f"hover/{j}/job.json" for j in job_ids
        )


def test_credentials_and_the_webhook_secret_come_from_a_profile(tmp_path: Path) -> None:
    """``--profile``: Hover's site and user from the profile, the token and the webhook
    secret from the variables it names; no HOVER_* variable set."""
    config = EmulatorConfig(jobs=2, include_seed_jobs=False, sizes=SMALL_SIZES)
    with Emulator.threaded(config) as emu:
        (tmp_path / "config.toml").write_text(
            "[profile.emu]\nrequests_per_minute = 0\n"
            "[profile.emu.hover]\n"
            f'base_url = "{emu.hover_url}"\n'
            f'current_user_email = "{user_email(emu)}"\n'
            'token_env = "EMU_TOKEN"\n'
            'webhook_secret_env = "EMU_HOOK_SECRET"\n'
        )
        env = {
            "HOVERBENTLEY_CONFIG": str(tmp_path / "config.toml"),
            "EMU_TOKEN": emu.config.token,
            "EMU_HOOK_SECRET": HOVER_SECRET,
            **dict.fromkeys(("HOVER_TOKEN", "HOVER_BASE_URL", "HOVER_CURRENT_USER_EMAIL"), ""),
            "HOVER_WEBHOOK_SECRET": "",
        }
        out = tmp_path / "out"
        job_id = emu.job_ids()[0]
        with serving(emu, str(out), "--sweep-interval", "0", "--profile", "emu", **env) as server:
            assert server.post(hover_body(job_id)) == 202
            assert server.archived(1) == {str(job_id)}
            logged = terminate(server)
        assert_complete(out, emu, [job_id], expected=emu.expected_files(job_id))
    assert HOVER_SECRET not in logged and emu.config.token not in logged


def test_takeoff_keeps_the_table_current_job_by_job(tmp_path: Path) -> None:
    config = EmulatorConfig(jobs=4, include_seed_jobs=False, sizes=SMALL_SIZES)
    with Emulator.threaded(config) as emu:
        out = tmp_path / "out"
        first, second, third = emu.job_ids()[:3]
        with serving(emu, str(out), "--sweep-interval", "0", "--takeoff") as server:
            for job_id in (first, second):
                assert server.post(hover_body(job_id)) == 202
            assert server.archived(2) == {str(first), str(second)}
            before = (out / "takeoff.csv").read_text()
            assert server.post(hover_body(third)) == 202
            assert server.archived(1) == {str(third)}
            after = (out / "takeoff.csv").read_text()
            terminate(server)
        # The table the command writes from the whole archive: the service's is the same.
        whole = subprocess.run(
            [*HB, "hover", "takeoff", str(out)], capture_output=True, text=True, check=True
        ).stdout
    assert after == whole
    jobs_before = {line.split(",", 1)[0] for line in before.splitlines()[1:]}
    jobs_after = {line.split(",", 1)[0] for line in after.splitlines()[1:]}
    assert jobs_before == {str(first), str(second)}
    assert jobs_after == {str(first), str(second), str(third)}
    assert [line for line in after.splitlines() if not line.startswith(str(third))] == (
        before.splitlines()
    )


def test_a_negative_retries_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [*HB, "serve", str(tmp_path / "out"), "--retries", "-1"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "--retries: must be 0 or more: -1" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_job_attempts_sets_how_often_a_failed_job_is_tried(tmp_path: Path) -> None:
    config = EmulatorConfig(jobs=2, include_seed_jobs=False, sizes=SMALL_SIZES)
    with Emulator.threaded(config) as emu:
        failing, other = emu.job_ids()[:2]
        emu.script(f"/api/v3/jobs/{failing}", *["html200"] * 50)  # its record never decodes
        out = tmp_path / "out"
        with serving(emu, str(out), "--sweep-interval", "0", "--job-attempts", "1") as server:
            assert server.post(hover_body(failing)) == 202
            server.wait_for(rf"hover job {failing}: archive failed on attempt 1 of 1, recorded")
            assert server.post(hover_body(other)) == 202
            assert server.archived(1) == {str(other)}
            logged = terminate(server)
        fetches = emu.requests_to("hover", f"/api/v3/jobs/{failing}")
    assert "trying again" not in logged
    # One attempt: the run's main pass and its 2 later passes, each reading the record once
    # and again for each of its --max-retries 2 (an answer with no JSON is asked again).
    assert len(fetches) == 3 * (1 + 2)
    journal = (out / ".hoverbentley" / "serve" / "journal.jsonl").read_bytes().splitlines()
    records = [json.loads(line) for line in journal]
    finished = {r["job_id"]: r.get("error") for r in records if r["type"] == "finished"}
    assert finished.keys() == {str(failing), str(other)}
    assert finished[str(failing)] and not finished[str(other)]


def test_job_attempts_of_0_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [*HB, "serve", str(tmp_path / "out"), "--job-attempts", "0"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "--job-attempts" in done.stderr and "Traceback" not in done.stderr


def test_where_it_cannot_listen_or_keep_state_is_said_with_the_flag(tmp_path: Path) -> None:
    config = EmulatorConfig(jobs=0, include_seed_jobs=False)
    (tmp_path / "a-file").write_text("")
    with Emulator.threaded(config) as emu, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = [
            (["--host", "not a host"], 2, "--host 'not a host' is no address to listen on: "),
            (["--host", "a..b"], 2, "--host 'a..b' is no address to listen on: not a valid host"),
            (
                ["--port", port],
                1,
                f"cannot listen on 127.0.0.1 port {port} (--host, --port): Address already in use",
            ),
            (
                ["--state-dir", str(tmp_path / "a-file")],
                2,
                f"--state-dir {tmp_path / 'a-file'}: {tmp_path / 'a-file'} is a file, not a"
                " directory",
            ),
            (
                ["--state-dir", str(tmp_path / "a-file" / "state")],
                2,
                f"--state-dir {tmp_path / 'a-file' / 'state'}: {tmp_path / 'a-file'} is a file,"
                " not a directory",
            ),
        ]
        for args, status, message in cases:
            command, environment = serve_command(emu, str(tmp_path / "out"), *args)
            done = subprocess.run(
                command, env=environment, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == status, done.stderr
            assert done.stderr.splitlines()[-1].startswith(f"hoverbentley: error: {message}")
            assert "Traceback" not in done.stderr and "listening" not in done.stderr
            assert not (tmp_path / "out").exists()  # said before a sweep could write


def test_the_url_it_prints_puts_an_ipv6_host_in_brackets() -> None:
    from hoverbentley.cli.serve_run import _url

    assert _url("::1", 8080) == "http://[::1]:8080"
    assert _url("127.0.0.1", 8080) == "http://127.0.0.1:8080"
