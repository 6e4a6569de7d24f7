"""A Hover job not complete yet: its event is noted, not archived; the event the emulator
sends when the job completes archives it (``serve`` as a process)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from hoverbentley.emulator import Emulator, EmulatorConfig, WebhookConfig
from tests.archive.helpers import SMALL_SIZES, assert_complete
from tests.processes import free_port
from tests.serve.helpers import hover_body, hover_headers, metric
from tests.serve.test_process import serving, terminate


def test_a_job_still_processing_is_archived_when_its_completing_event_comes(
    tmp_path: Path,
) -> None:
    config = EmulatorConfig(
        jobs=1, include_seed_jobs=False, sizes=SMALL_SIZES, webhooks=WebhookConfig(backoff=0.0)
    )
    with Emulator.threaded(config) as emu:
        out = tmp_path / "out"
        (done,) = emu.job_ids()
        (late,) = emu.new_hover_jobs(1)
        port = free_port()
        hook = emu.add_hover_webhook(f"http://127.0.0.1:{port}/hooks/hover")
        env = {"HOVER_WEBHOOK_SECRET": hook.hmac_secret}
        with serving(emu, str(out), "--sweep-interval", "0", "--port", str(port), **env) as server:

            def post(body: bytes) -> int:
                headers = hover_headers(body, secret=hook.hmac_secret, uri="/hooks/hover")
                request = urllib.request.Request(server.url + "/hooks/hover", body, headers)
                with urllib.request.urlopen(request) as response:
                    return int(response.status)

            assert post(hover_body(late, "processing")) == 202  # noted
            # Runs are in order: once a later event's job is archived, the noted one would
            # have been too, had it been queued.
            assert post(hover_body(done, "complete")) == 202
            assert server.archived(1) == {str(done)}
            assert not (out / "hover" / str(late)).exists()

            emu.complete_hover_jobs([late])  # the emulator posts the completing events
            assert server.archived(1) == {str(late)}
            with urllib.request.urlopen(server.url + "/metrics") as response:
                text = response.read().decode()
            terminate(server)
        assert_complete(out, emu, [done, late])
    archived = metric(text, "hoverbentley_serve_jobs_archived_total", provider="hover")
    assert archived == 2
    # The processing event and the model events were journaled as well.
    accepted = metric(text, "hoverbentley_serve_events_accepted_total", provider="hover")
    assert accepted > 3
