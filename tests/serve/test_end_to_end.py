"""``hoverbentley serve`` as a process fed by the emulator's own webhook deliveries: Hover
and Bentley Reality Modeling v2 jobs that complete, their events signed and retried by the
emulator, every job archived once into a directory or a bucket."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from hoverbentley.archive.merge import is_bookkeeping
from hoverbentley.emulator import BentleyConfig, Emulator, EmulatorConfig, WebhookConfig
from tests.archive.helpers import SMALL_SIZES
from tests.objectstore.conftest import Store
from tests.objectstore.conftest import moto_endpoint as moto_endpoint  # fixtures
from tests.objectstore.conftest import s3 as s3
from tests.objectstore.helpers import objects
from tests.processes import free_port
from tests.serve.helpers import metric
from tests.serve.test_process import Serving, serving, terminate

EMULATOR = EmulatorConfig(
    jobs=0,
    include_seed_jobs=False,
    sizes=SMALL_SIZES,
    # The v2 seed jobs stand still: only the jobs a test completes send events.
    bentley=BentleyConfig(v2_percent_per_second=0.0),
    webhooks=WebhookConfig(backoff=0.0),
)


def record_fetches(emu: Emulator) -> Counter[str]:
    """Reads of each job's record by id (Hover's ``/api/v3/jobs/ID``, v2's ``/jobs/ID``)."""
    return Counter(
        r.path.rsplit("/", 1)[-1]
        for r in emu.requests
        if r.method == "GET"
        and (
            (r.target == "hover" and r.path.startswith("/api/v3/jobs/"))
            or (r.target == "bentley" and r.path.startswith("/reality-modeling/jobs/"))
        )
    )


def assert_archived(
    stored: dict[str, bytes], emu: Emulator, hover_ids: list[int], v2_ids: list[str]
) -> None:
    """``stored`` (path → bytes of every object or file) holds every job's record and files,
    each once in the manifest with the sha256 of its bytes and of the emulator, and no other."""
    manifest = [json.loads(line) for line in stored["manifest.jsonl"].splitlines()]
    assert not [p for p, n in Counter(e["path"] for e in manifest).items() if n > 1]
    assert all(e["status"] == "ok" for e in manifest)
    for entry in manifest:
        assert hashlib.sha256(stored[entry["path"]]).hexdigest() == entry["sha256"]
    files = [e for e in manifest if e["kind"] != "job"]
    hover = Counter((e["url"], e["sha256"]) for e in files if e["path"].startswith("hover/"))
    assert hover == Counter((f.url, f.sha256) for j in hover_ids for f in emu.expected_files(j))
    for job_id in v2_ids:
        got = sorted(e["sha256"] for e in files if e["path"].startswith(f"bentley/{job_id}/"))
        assert got and got == sorted(b.sha256 for b in emu.expected_v2_blobs(job_id))
    records = sorted(e["path"] for e in manifest if e["kind"] == "job")
    assert records == sorted(
        [f"hover/{j}/job.json" for j in hover_ids] + [f"bentley/{j}/job.json" for j in v2_ids]
    )
    archived = {p for p in stored if not is_bookkeeping(p)}
    assert archived == {e["path"] for e in manifest}, "files the manifest does not name"


def local_files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def wait_archived(server: Serving, count: int) -> Counter[str]:
    """The ids of the next ``count`` jobs the service says it archived."""
    return Counter(
        server.wait_for(r"(?:hover|bentley) job (\S+) archived").group(1) for _ in range(count)
    )


@dataclass
class Run:
    """What a run of the service over the emulator's completions left behind."""

    emu: Emulator
    hover_ids: list[int]
    v2_ids: list[str]
    archived: Counter[str]
    logged: str
    secrets: tuple[str, str]
    #: ``/metrics`` once every job was archived.
    metrics: str


@contextmanager
def completions(
    out: str,
    *args: str,
    hover: int = 50,
    bentley: int = 10,
    faults: Callable[[Emulator], None] | None = None,
) -> Iterator[Run]:
    """``serve OUT`` with both webhooks registered in the emulator: ``hover`` Hover and
    ``bentley`` v2 jobs completed (after ``faults`` scripted the deliveries' faults), their
    events delivered, until the service archived them all; the emulator still runs inside."""
    with Emulator.threaded(EMULATOR) as emu:
        public = f"http://127.0.0.1:{free_port()}"
        hover_hook = emu.add_hover_webhook(f"{public}/hooks/hover")
        bentley_hook = emu.add_bentley_webhook(f"{public}/hooks/bentley")
        env = {
            "HOVER_WEBHOOK_SECRET": hover_hook.hmac_secret,
            "BENTLEY_WEBHOOK_SECRET": bentley_hook.secret,
        }
        port = public.rsplit(":", 1)[1]
        with serving(emu, out, "--sweep-interval", "0", "--port", port, *args, **env) as server:
            if faults is not None:
                faults(emu)
            hover_ids, v2_ids = emu.complete_jobs(hover=hover, bentley=bentley)
            archived = wait_archived(server, hover + bentley)
            emu.settle_deliveries(120)
            with urllib.request.urlopen(f"{server.url}/metrics") as response:
                metrics = response.read().decode()
            logged = terminate(server)
        secrets = (hover_hook.hmac_secret, bentley_hook.secret)
        yield Run(emu, hover_ids, v2_ids, archived, logged, secrets, metrics)


def assert_once(run: Run) -> None:
    """Each job the service says it archived, once, and its record read once; each event's
    last attempt taken; no secret in the log."""
    assert run.archived == Counter(map(str, [*run.hover_ids, *run.v2_ids]))
    assert record_fetches(run.emu) == run.archived
    last = {(a.event, a.copy): a for a in run.emu.deliveries.log}
    assert all(a.ok for a in last.values())
    assert not [s for s in run.secrets if s in run.logged]


def test_fifty_hover_and_ten_v2_jobs_completed_by_the_emulator_are_archived_once(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    with completions(str(out)) as run:
        assert_once(run)
        assert_archived(local_files(out), run.emu, run.hover_ids, run.v2_ids)


def test_the_same_into_s3(s3: Store, tmp_path: Path) -> None:
    with completions(s3.url(), "--state-dir", str(tmp_path / "state")) as run:
        assert_once(run)
        assert_archived(objects(s3), run.emu, run.hover_ids, run.v2_ids)
    assert s3.secret not in run.logged


def _faults(emu: Emulator) -> None:
    hover, v2 = "job-state-changed", "realityModeling.jobCompleted.v2"
    emu.deliveries.script("duplicate", "reorder", "bad-signature", "duplicate", match=hover)
    emu.deliveries.script("bad-signature", "duplicate", "reorder", match=v2)


def test_duplicated_reordered_and_forged_deliveries_archive_each_job_once(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    with completions(str(out), hover=6, bentley=4, faults=_faults) as run:
        assert_once(run)
        assert_archived(local_files(out), run.emu, run.hover_ids, run.v2_ids)
        log = run.emu.deliveries.log
    # The forged first attempts were refused, and their retries (correctly signed) taken.
    forged = [a for a in log if not a.signed]
    assert sorted((a.provider, a.status) for a in forged) == [("bentley", 401), ("hover", 401)]
    for attempt in forged:
        (retry,) = [a for a in log if a.event == attempt.event and a.attempt == 2]
        assert retry.signed and retry.status == 202
    copies = [a for a in log if a.copy == 2]
    assert len(copies) == 3 and all(a.status == 200 for a in copies)  # already journaled
    # Reordered: of each provider, an event reached the service after one sent later.
    for provider in ("hover", "bentley"):
        sent = [a.event for a in log if a.provider == provider and a.copy == a.attempt == 1]
        assert sent != sorted(sent)
    rejected = "hoverbentley_serve_events_rejected_total"
    assert metric(run.metrics, rejected, provider="hover", reason="signature") == 1
    assert metric(run.metrics, rejected, provider="bentley", reason="signature") == 1
    assert metric(run.metrics, rejected, provider="hover", reason="duplicate") == 2
    assert metric(run.metrics, rejected, provider="bentley", reason="duplicate") == 1


@pytest.mark.parametrize("given", ["", "a-secret-from-an-earlier-webhook-0123456789"])
def test_register_sets_both_webhooks_up_and_their_events_are_archived(
    tmp_path: Path, given: str
) -> None:
    """One command: the Hover webhook created and its verification code confirmed by the
    service, the Bentley one created and activated; the new Hover secret kept in the file
    named, printed nowhere, and verified with even where an older one was in the environment;
    then completed jobs' events archived."""
    out, secret_file = tmp_path / "out", tmp_path / "secrets" / "hover.secret"
    secret_file.parent.mkdir()
    bentley_secret = "bentley-webhook-secret-" + "0123456789" * 3
    with Emulator.threaded(EMULATOR) as emu:
        emu.bentley_webhooks.allow_http = True  # the callback is on loopback, not HTTPS
        public = f"http://127.0.0.1:{free_port()}"
        args = ("--port", public.rsplit(":", 1)[1], "--sweep-interval", "0")
        args += ("--register", public, "--hover-secret-file", str(secret_file))
        env = {"HOVER_WEBHOOK_SECRET": given, "BENTLEY_WEBHOOK_SECRET": bentley_secret}
        with serving(emu, str(out), *args, **env) as server:
            server.wait_for(r"Hover webhook verified")
            (hover,) = emu.hover_webhooks.registrations()
            (bentley,) = emu.bentley_webhooks.registrations()
            assert (hover.url, hover.verified) == (f"{public}/hooks/hover", True)
            assert (bentley.callback_url, bentley.active) == (f"{public}/hooks/bentley", True)
            assert bentley.secret == bentley_secret
            assert secret_file.read_text().strip() == hover.hmac_secret
            assert secret_file.stat().st_mode & 0o777 == 0o600
            verified = emu.requests_to("hover", f"/api/v2/webhooks/{hover.code}/verify")
            assert [r.method for r in verified] == ["PUT"]
            hover_ids, v2_ids = emu.complete_jobs(hover=3, bentley=2)
            archived = wait_archived(server, 5)
            logged = terminate(server)
        assert archived == Counter(map(str, [*hover_ids, *v2_ids]))
        assert_archived(local_files(out), emu, hover_ids, v2_ids)
    assert hover.hmac_secret not in logged and bentley_secret not in logged
