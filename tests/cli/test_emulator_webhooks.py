"""``hoverbentley emulator --complete-jobs … --complete-v2-jobs …``: jobs that complete over
time and send their webhook events, registered over the APIs as an integrator would."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from hoverbentley.bentley import WebhooksClient
from hoverbentley.bentley.webhook_events import (
    RealityModelingJobCompletedV2,
    bentley_event_from_http,
)
from hoverbentley.hover.client import HoverClient
from hoverbentley.hover.webhook_events import (
    JobStateChanged,
    WebhookVerificationCode,
    hover_event_from_http,
)
from tests.emulator.receiver import receiving
from tests.processes import free_port, running
from tests.support import FAST, HB

V2_EVENT = "realityModeling.jobCompleted.v2"


async def register_and_receive(
    hover_url: str, bentley_url: str
) -> tuple[list[object], list[object]]:
    async with receiving() as receiver:
        async with HoverClient(
            token="emu-static-token",
            current_user_email="ops@example.com",
            base_url=hover_url,
            http=FAST,
        ) as hover:
            hook = await hover.create_webhook(f"{receiver.url}/h")
            assert hook.hmac_secret is not None
            (item,) = await receiver.wait_for(1, "/h")
            code = hover_event_from_http(
                item.headers, item.body, secret=hook.hmac_secret, request_uri=hook.url
            )
            assert isinstance(code, WebhookVerificationCode)
            await hover.verify_webhook(code.code)
        async with WebhooksClient(
            token="emu-bentley-token", base_url=f"{bentley_url}/webhooks", http=FAST
        ) as bentley:
            created = await bentley.create_webhook(f"{receiver.url}/b", [V2_EVENT])
            await bentley.activate_webhook(created.id)

        def job_events() -> bool:
            paths = [r.path for r in receiver.received if b"job-state-changed" in r.body]
            return paths == ["/h"] and any(r.path == "/b" for r in receiver.received)

        await receiver.until(job_events)
        hover_events = [
            hover_event_from_http(r.headers, r.body, secret=hook.hmac_secret, request_uri=hook.url)
            for r in receiver.received[1:]
            if r.path == "/h"
        ]
        bentley_events = [
            bentley_event_from_http(r.headers, r.body, secret=created.secret)
            for r in receiver.received
            if r.path == "/b"
        ]
    return hover_events, bentley_events


def test_jobs_complete_over_time_and_their_events_reach_the_webhooks(tmp_path: Path) -> None:
    port, bentley_port = free_port(), free_port()
    command = [
        *HB,
        "emulator",
        "--port",
        str(port),
        "--bentley-port",
        str(bentley_port),
        "--jobs",
        "1",
        "--complete-jobs",
        "1",
        "--complete-v2-jobs",
        "1",
        "--complete-every",
        "0",
        "--webhook-backoff",
        "0",
    ]
    log = tmp_path / "emulator.log"
    with running(command, port, log):
        hover, bentley = asyncio.run(
            register_and_receive(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bentley_port}")
        )
    (job,) = [e for e in hover if isinstance(e, JobStateChanged)]
    assert job.state == "complete"
    (v2,) = bentley
    assert isinstance(v2, RealityModelingJobCompletedV2) and v2.content.state == "Success"
    assert "Completing   1 Hover and 1 v2 jobs, one every 0 s" in log.read_text()


def test_a_delivery_fault_it_does_not_know_is_a_usage_error() -> None:
    result = subprocess.run(
        [*HB, "emulator", "--webhook-faults", "drop=0.1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "not a fault: 'drop=0.1'" in result.stderr and "duplicate, reorder" in result.stderr
