"""SIGTERM while a batch is being archived: deliveries and ``/readyz`` answered 503 at once,
the batch finished within ``--drain-timeout`` or checkpointed for the next start, exit 0."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from hoverbentley.emulator import Emulator
from tests.archive.helpers import assert_complete, hold_big_files, read_manifest
from tests.serve.helpers import HELD, hover_body, hover_headers, releasable_stalls
from tests.serve.test_process import Serving, serving, terminate

LONG_STALLS = ("--sweep-interval", "0", "--stall-timeout", "600")


def get(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url) as response:
            return int(response.status), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return int(exc.code), dict(exc.headers)


def post_hover(server: Serving, job_id: int) -> tuple[int, dict[str, str]]:
    body = hover_body(job_id)
    request = urllib.request.Request(
        f"{server.url}/hooks/hover", data=body, headers=hover_headers(body, uri="/hooks/hover")
    )
    try:
        with urllib.request.urlopen(request) as response:
            return int(response.status), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return int(exc.code), dict(exc.headers)


def held_mid_file(server: Serving, out: Path, job_id: int) -> None:
    """Post ``job_id``'s event and wait until its big PDF is half on disk (held there)."""
    assert server.post(hover_body(job_id)) == 202
    while not [p for p in out.rglob("*.part") if p.stat().st_size > 0]:
        assert server.proc.poll() is None, server.stderr()
        threading.Event().wait(0.05)


def sigterm_and_see_refusals(server: Serving, other_job: int) -> None:
    """SIGTERM; once it says it drains, a delivery and ``/readyz`` are answered 503."""
    server.proc.send_signal(15)
    server.wait_for(r"SIGTERM: draining")
    status, headers = post_hover(server, other_job)
    assert status == 503 and int(headers["Retry-After"]) > 0
    assert get(f"{server.url}/readyz")[0] == 503
    assert get(f"{server.url}/healthz")[0] == 200


def test_sigterm_mid_batch_lets_the_batch_finish_within_the_drain_timeout(tmp_path: Path) -> None:
    with Emulator.threaded(HELD) as emu:
        out = tmp_path / "out"
        first, second = emu.job_ids()
        hold_big_files(emu, 1)
        release = releasable_stalls(emu)
        with serving(emu, str(out), *LONG_STALLS, "--drain-timeout", "600") as server:
            held_mid_file(server, out, first)
            sigterm_and_see_refusals(server, second)
            release.set()
            assert server.proc.wait(timeout=120) == 0
            logged = server.stderr()
        assert f"hover job {first} archived" in logged
        assert f"hover job {second} archived" not in logged
        assert_complete(out, emu, [first], expected=emu.expected_files(first))


def test_a_drain_cut_short_is_resumed_by_the_next_start(tmp_path: Path) -> None:
    with Emulator.threaded(HELD) as emu:
        out = tmp_path / "out"
        first, second = emu.job_ids()
        hold_big_files(emu, 1)
        with serving(emu, str(out), *LONG_STALLS, "--drain-timeout", "0.5") as server:
            held_mid_file(server, out, first)
            sigterm_and_see_refusals(server, second)
            assert server.proc.wait(timeout=120) == 0
            logged = server.stderr()
        assert "archived" not in logged
        parts = [p for p in out.rglob("*.part") if p.stat().st_size > 0]
        assert parts, "the cut file is kept for the next start"
        ranged_before = sum(emu.counters.ranged.values())

        with serving(emu, str(out), "--sweep-interval", "0") as again:
            assert again.archived(1) == {str(first)}  # from the journal: no new event
            terminate(again)
        assert sum(emu.counters.ranged.values()) > ranged_before, "the cut file was resumed"
        assert_complete(out, emu, [first], expected=emu.expected_files(first))
        paths = Counter(e["path"] for e in read_manifest(out))
        assert [p for p, n in paths.items() if n > 1] == []
