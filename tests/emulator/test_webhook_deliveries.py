"""The emulator's webhook deliveries, checked by the client library's verification.

The emulator signs with code of its own; ``hover_event_from_http`` and
``bentley_event_from_http`` are the independent check (and the emulator theirs).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from hoverbentley.bentley.webhook_events import (
    RealityModelingJobCompletedV2,
    bentley_event_from_http,
)
from hoverbentley.emulator import Emulator, EmulatorConfig, WebhookConfig
from hoverbentley.errors import InvalidSignature
from hoverbentley.hover.webhook_events import (
    JobStateChanged,
    ModelStateChanged,
    hover_event_from_http,
)
from tests.processes import free_port

from .receiver import WAIT, Received, receiving
from .support import SMALL

pytestmark = pytest.mark.anyio
EMULATOR = EmulatorConfig(
    jobs=0, sizes=SMALL, webhooks=WebhookConfig(attempts=4, backoff=0.0, seed=3)
)
V2_EVENT = "realityModeling.jobCompleted.v2"


async def settled(emu: Emulator) -> None:
    await asyncio.wait_for(emu.deliveries.settled(), WAIT)


def bentley_events(received: list[Received], secret: str) -> list[RealityModelingJobCompletedV2]:
    out = []
    for item in received:
        event = bentley_event_from_http(item.headers, item.body, secret=secret)
        assert isinstance(event, RealityModelingJobCompletedV2)
        out.append(event)
    return out


@pytest.mark.parametrize("scheme", ["APIAuth-HMAC-SHA256", "APIAuth"])
async def test_completed_jobs_reach_both_webhooks_signed(scheme: str) -> None:
    config = dataclasses.replace(
        EMULATOR, webhooks=dataclasses.replace(EMULATOR.webhooks, hover_scheme=scheme)
    )
    async with Emulator(config) as emu, receiving() as receiver:
        hover_hook = emu.add_hover_webhook(f"{receiver.url}/hooks/hover?org=7")
        bentley_hook = emu.add_bentley_webhook(f"{receiver.url}/hooks/bentley")
        hover_ids = emu.new_hover_jobs(3)
        v2_ids = emu.new_bentley_jobs(2)
        assert emu.expected_files(hover_ids[0]) == [] and emu.expected_v2_blobs(v2_ids[0]) == []
        assert emu.job_payload(hover_ids[0])["reconstruction_state"] == "processing"
        emu.complete_hover_jobs(hover_ids)
        emu.complete_bentley_jobs(v2_ids)
        await settled(emu)
        models = {j: [m["id"] for m in emu.job_payload(j)["models"]] for j in hover_ids}
        hover_received = await receiver.wait_for(3 + sum(map(len, models.values())), "/hooks/hover")
        hover = [
            hover_event_from_http(
                r.headers, r.body, secret=hover_hook.hmac_secret, request_uri=hover_hook.url
            )
            for r in hover_received
        ]
        bentley = bentley_events(await receiver.wait_for(2, "/hooks/bentley"), bentley_hook.secret)
    assert all(r.headers["Authorization"].startswith(f"{scheme} ") for r in hover_received)
    jobs = [e for e in hover if isinstance(e, JobStateChanged)]
    assert [(e.job_id, e.state, e.webhook_id) for e in jobs] == [
        (j, "complete", hover_hook.id) for j in hover_ids
    ]
    changed = [(e.job_id, e.model_id) for e in hover if isinstance(e, ModelStateChanged)]
    assert changed == [(j, m) for j in hover_ids for m in models[j]]
    assert [(e.content.job_id, e.content.state) for e in bentley] == [
        (j, "Success") for j in v2_ids
    ]
    assert {e.webhook_id for e in bentley} == {bentley_hook.id}
    assert len({e.message_id for e in bentley}) == 2 and all(e.enqueued_at for e in bentley)
    # What the events announce can be fetched.
    assert all(emu.expected_files(j) for j in hover_ids)
    assert all(emu.job_payload(j)["reconstruction_state"] == "completed" for j in hover_ids)
    assert all(emu.expected_v2_blobs(j) for j in v2_ids)
    assert all(a.ok and a.attempt == 1 for a in emu.deliveries.log)


async def test_a_failed_delivery_is_retried_until_it_is_taken(emu: Emulator) -> None:
    async with receiving() as receiver:
        hook = emu.add_bentley_webhook(f"{receiver.url}/b")
        receiver.answers.extend([500, 503])
        (job_id,) = emu.complete_jobs(bentley=1)[1]
        await settled(emu)
        received = await receiver.wait_for(3)
    assert [a.status for a in emu.deliveries.attempts(job_id=job_id)] == [500, 503, 200]
    assert [a.attempt for a in emu.deliveries.log] == [1, 2, 3]
    assert len({r.body for r in received}) == 1
    assert bentley_events(received[-1:], hook.secret)[0].content.job_id == job_id


async def test_an_unreachable_webhook_gets_the_bounded_attempts(emu: Emulator) -> None:
    emu.add_bentley_webhook(f"http://127.0.0.1:{free_port()}/closed")
    emu.complete_jobs(bentley=1)
    await settled(emu)
    log = emu.deliveries.log
    assert [a.attempt for a in log] == [1, 2, 3, 4]
    assert all(a.status is None and a.error and "Connect" in a.error for a in log)


async def test_a_host_off_loopback_is_logged_not_contacted(emu: Emulator) -> None:
    emu.add_bentley_webhook("https://hooks.example.com/b")
    emu.complete_jobs(bentley=1)
    await settled(emu)
    (attempt,) = emu.deliveries.log
    assert attempt.status is None and attempt.error == "not sent: the host is not on loopback"


async def test_only_active_and_verified_webhooks_in_scope_get_events(emu: Emulator) -> None:
    async with receiving() as receiver:
        emu.add_bentley_webhook(f"{receiver.url}/inactive", active=False)
        emu.add_bentley_webhook(f"{receiver.url}/other-event", ["realityAnalysis.jobCompleted.v1"])
        emu.add_bentley_webhook(
            f"{receiver.url}/other-itwin", itwin_id="99999999-9999-4999-8999-999999999999"
        )
        emu.add_bentley_webhook(f"{receiver.url}/itwin", itwin_id=emu.itwin_ids[0])
        emu.add_hover_webhook(f"{receiver.url}/unverified", verified=False)
        emu.add_hover_webhook(f"{receiver.url}/verified")
        emu.complete_jobs(hover=1, bentley=1)
        await settled(emu)
    paths = {r.path for r in receiver.received}
    assert paths == {"/itwin", "/verified"}
    assert {a.url.rsplit("/", 1)[1] for a in emu.deliveries.log} == {"itwin", "verified"}


async def test_duplicates_and_a_wrong_signature_on_demand(emu: Emulator) -> None:
    async with receiving() as receiver:
        hook = emu.add_bentley_webhook(f"{receiver.url}/b")

        def verify(item: Received) -> int:
            try:
                bentley_event_from_http(item.headers, item.body, secret=hook.secret)
            except InvalidSignature:
                return 401
            return 204

        receiver.check = verify
        emu.deliveries.script("duplicate", "bad-signature", match=V2_EVENT)
        first, second = emu.complete_jobs(bentley=2)[1]
        await settled(emu)
        received = await receiver.wait_for(4)
    statuses = [(a.job_id, a.copy, a.attempt, a.signed, a.status) for a in emu.deliveries.log]
    assert statuses == [
        (first, 1, 1, True, 204),
        (first, 2, 1, True, 204),
        (second, 1, 1, False, 401),
        (second, 1, 2, True, 204),
    ]
    assert received[0].body == received[1].body
    events = bentley_events([received[0], received[1], received[3]], hook.secret)
    assert [e.content.job_id for e in events] == [first, first, second]
    assert events[0].message_id == events[1].message_id
    with pytest.raises(InvalidSignature):
        bentley_event_from_http(received[2].headers, received[2].body, secret=hook.secret)


async def test_reordered_and_held_events(emu: Emulator) -> None:
    async with receiving() as receiver:
        hook = emu.add_bentley_webhook(f"{receiver.url}/b")
        emu.deliveries.script("reorder", match=V2_EVENT)
        a, b, c = emu.complete_jobs(bentley=3)[1]
        await settled(emu)
        order = [e.content.job_id for e in bentley_events(receiver.received, hook.secret)]
        assert order == [b, a, c]

        emu.deliveries.script("hold", match=V2_EVENT)
        d, e = emu.complete_jobs(bentley=2)[1]
        await settled(emu)
        assert emu.deliveries.held == 1 and len(receiver.received) == 4
        assert emu.release_deliveries() == 1
        await settled(emu)
        received = await receiver.wait_for(5)
    assert [x.content.job_id for x in bentley_events(received[3:], hook.secret)] == [e, d]
    assert emu.deliveries.held == 0


async def test_random_delivery_faults_follow_their_seed() -> None:
    faults = {"duplicate": 0.5, "bad-signature": 0.5}
    config = dataclasses.replace(
        EMULATOR, webhooks=dataclasses.replace(EMULATOR.webhooks, faults=faults)
    )
    runs = []
    for _ in range(2):
        async with Emulator(config) as emu, receiving() as receiver:
            emu.add_bentley_webhook(f"{receiver.url}/b")
            emu.complete_jobs(bentley=8)
            await settled(emu)
            runs.append([(a.copy, a.signed) for a in emu.deliveries.log])
    assert runs[0] == runs[1]
    assert (2, True) in runs[0] and (1, False) in runs[0]


def test_unknown_delivery_faults_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown delivery faults"):
        WebhookConfig(faults={"drop": 0.1})


async def test_the_hover_handshake_then_events(emu: Emulator) -> None:
    """Registered over the API, the webhook gets its verification code (signed); events come
    once the code is confirmed."""
    from hoverbentley.hover.client import HoverClient
    from hoverbentley.hover.webhook_events import WebhookVerificationCode
    from tests.support import FAST

    user = sorted(emu.config.user_emails)[0]
    async with (
        receiving() as receiver,
        HoverClient(
            token=emu.config.token, current_user_email=user, base_url=emu.hover_url, http=FAST
        ) as client,
    ):
        url = f"{receiver.url}/hooks/hover"
        hook = await client.create_webhook(url)
        assert hook.hmac_secret is not None
        (item,) = await receiver.wait_for(1)
        code = hover_event_from_http(
            item.headers, item.body, secret=hook.hmac_secret, request_uri=url
        )
        assert isinstance(code, WebhookVerificationCode) and code.webhook_id == hook.id
        (early,), _ = emu.complete_jobs(hover=1)
        await settled(emu)
        assert len(receiver.received) == 1  # not verified yet: no event
        await client.verify_webhook(code.code)
        (later,), _ = emu.complete_jobs(hover=1)
        await settled(emu)
    events = [
        hover_event_from_http(r.headers, r.body, secret=hook.hmac_secret, request_uri=url)
        for r in receiver.received[1:]
    ]
    jobs = [e.job_id for e in events if isinstance(e, JobStateChanged)]
    assert jobs == [later] and early not in jobs


def test_jobs_complete_from_another_thread(emu_thread: Emulator) -> None:
    """A threaded emulator (the one CLI tests use) takes the same calls from the test's thread."""

    async def main() -> tuple[list[int], list[Received]]:
        async with receiving() as receiver:
            emu_thread.add_hover_webhook(f"{receiver.url}/h")
            ids, _ = emu_thread.complete_jobs(hover=2)
            await asyncio.to_thread(emu_thread.settle_deliveries, WAIT)
            return ids, [r for r in receiver.received if b"job-state-changed" in r.body]

    ids, received = asyncio.run(main())
    assert [json.loads(r.body)["job_id"] for r in received] == ids
    assert all(a.ok for a in emu_thread.deliveries.log)
