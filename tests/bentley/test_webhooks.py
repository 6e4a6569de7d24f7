"""WebhooksClient against the emulator: the inactive -> active lifecycle, secrets, refusals."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from hoverbentley.bentley import WebhooksClient
from hoverbentley.bentley.webhooks import REALITY_EVENTS
from hoverbentley.emulator import Emulator
from hoverbentley.emulator.bentley.webhooks import ACCOUNT_ID
from hoverbentley.errors import AuthenticationError, NotFoundError, UnprocessableEntityError
from tests.flavours import flavoured
from tests.support import FAST

pytestmark = pytest.mark.anyio
ITWIN = "122e514a-70f1-4b34-a2b3-1935b0caca43"
CALLBACK = "https://hooks.example.com/bentley"


def client(emu: Emulator, flavour: str = "async", **kwargs: Any) -> WebhooksClient:
    options: dict[str, Any] = {
        "token": emu.config.bentley.token,
        "base_url": emu.webhooks_url,
        "http": FAST,
    }
    return flavoured(flavour, WebhooksClient, **{**options, **kwargs})  # type: ignore[no-any-return]


async def test_a_webhook_is_created_inactive_and_activated(emu: Emulator, flavour: str) -> None:
    async with client(emu, flavour) as hooks:
        created = await hooks.create_webhook(CALLBACK, itwin_id=ITWIN)
        before = await hooks.get_webhook(created.id)
        activated = await hooks.activate_webhook(created.id)
        listed = await hooks.list_webhooks()
        deactivated = await hooks.deactivate_webhook(created.id)
    assert created.active is False and before.active is False
    assert created.scope == "iTwin" and created.scope_id == ITWIN
    assert created.event_types == list(REALITY_EVENTS) and created.callback_url == CALLBACK
    assert created.secret and len(created.secret) >= 32
    assert activated.active is True and [w.active for w in listed] == [True]
    assert deactivated.active is False
    assert before.created and before.modified and activated.modified
    assert activated.modified >= before.modified
    (stored,) = emu.bentley_webhooks.registrations()
    assert stored.id == created.id and stored.secret == created.secret and not stored.active


async def test_the_account_scope_and_a_given_secret(emu: Emulator, flavour: str) -> None:
    secret = "a-secret-of-forty-characters-0123456789"
    async with client(emu, flavour) as hooks:
        created = await hooks.create_webhook(
            CALLBACK, ["realityModeling.jobCompleted.v2"], secret=secret
        )
        shown = await hooks.get_webhook(created.id)
    assert created.secret == secret and created.scope == "Account"
    assert created.scope_id == ACCOUNT_ID and shown.scope_id == ACCOUNT_ID
    assert shown.event_types == ["realityModeling.jobCompleted.v2"]
    assert emu.bentley_webhooks.registrations()[0].secret == secret


async def test_update_changes_only_what_is_given(emu: Emulator, flavour: str) -> None:
    new_secret = "n" * 32
    async with client(emu, flavour) as hooks:
        created = await hooks.create_webhook(CALLBACK)
        changed = await hooks.update_webhook(
            created.id, callback_url="https://hooks.example.com/moved", secret=new_secret
        )
    assert changed.callback_url == "https://hooks.example.com/moved"
    assert changed.event_types == list(REALITY_EVENTS) and changed.active is False
    assert emu.bentley_webhooks.registrations()[0].secret == new_secret


async def test_delete_and_unknown_ids(emu: Emulator, flavour: str) -> None:
    async with client(emu, flavour) as hooks:
        created = await hooks.create_webhook(CALLBACK)
        await hooks.delete_webhook(created.id)
        assert await hooks.list_webhooks() == []
        for call in (hooks.get_webhook, hooks.activate_webhook, hooks.delete_webhook):
            with pytest.raises(NotFoundError) as caught:
                await call(created.id)
            assert caught.value.code == "WebhookNotFound"
    assert emu.bentley_webhooks.registrations() == []


async def test_the_service_refuses_what_the_document_does_not_allow(
    emu: Emulator, flavour: str
) -> None:
    async with client(emu, flavour) as hooks:
        with pytest.raises(UnprocessableEntityError) as http:
            await hooks.create_webhook("http://hooks.example.com/plain")
        with pytest.raises(UnprocessableEntityError) as event:
            await hooks.create_webhook(CALLBACK, ["realityModeling.jobFinished.v9"])
        with pytest.raises(UnprocessableEntityError) as itwin:
            await hooks.create_webhook(CALLBACK, itwin_id="not-a-guid")
    assert http.value.code == "InvalidCreateWebhookRequest"
    assert [d.target for d in http.value.details] == ["callbackUrl"]
    assert [d.target for d in event.value.details] == ["eventTypes"]
    assert [d.target for d in itwin.value.details] == ["scopeId"]
    assert emu.bentley_webhooks.registrations() == []


async def test_an_http_callback_where_the_emulator_allows_it(emu: Emulator, flavour: str) -> None:
    emu.bentley_webhooks.allow_http = True
    async with client(emu, flavour) as hooks:
        created = await hooks.create_webhook("http://127.0.0.1:9/receiver")
    assert created.callback_url == "http://127.0.0.1:9/receiver"


async def test_raw_bodies_are_checked_property_by_property(emu: Emulator) -> None:
    """What the client never sends, straight to the routes: each refusal names its property."""
    headers = {"Authorization": f"Bearer {emu.config.bentley.token}"}
    good = {"callbackUrl": CALLBACK, "scope": "Account", "eventTypes": list(REALITY_EVENTS)}
    cases: list[tuple[Any, str]] = [
        ({**good, "name": "x"}, "name"),
        ({k: v for k, v in good.items() if k != "callbackUrl"}, "callbackUrl"),
        ({k: v for k, v in good.items() if k != "scope"}, "scope"),
        ({k: v for k, v in good.items() if k != "eventTypes"}, "eventTypes"),
        ({**good, "scope": "Organisation"}, "scope"),
        ({**good, "scope": "iTwin"}, "scopeId"),
        ({**good, "eventTypes": []}, "eventTypes"),
        ({**good, "secret": "too short"}, "secret"),
        (["not", "an", "object"], "body"),
    ]
    async with aiohttp.ClientSession(headers=headers) as session:
        for body, target in cases:
            async with session.post(f"{emu.webhooks_url}/", json=body) as resp:
                answer = await resp.json()
            assert resp.status == 422, body
            assert answer["error"]["code"] == "InvalidCreateWebhookRequest"
            assert [d["target"] for d in answer["error"]["details"]] == [target], body
        async with session.post(emu.webhooks_url, json=good) as resp:
            created = await resp.json()
            assert resp.status == 202 and set(created) == {
                "id",
                "callbackUrl",
                "secret",
                "scope",
                "scopeId",
                "active",
                "eventTypes",
            }
        hook = f"{emu.webhooks_url}/{created['id']}"
        for body, target in [({"active": "yes"}, "active"), ({"scope": "iTwin"}, "scope")]:
            async with session.patch(hook, json=body) as resp:
                answer = await resp.json()
            assert resp.status == 422
            assert answer["error"]["code"] == "InvalidUpdateWebhookRequest"
            assert [d["target"] for d in answer["error"]["details"]] == [target]
        async with session.get(hook) as resp:
            assert "secret" not in await resp.json()
    async with aiohttp.ClientSession() as anonymous, anonymous.get(emu.webhooks_url) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "HeaderNotFound"


async def test_a_wrong_token_is_an_authentication_error(emu: Emulator, flavour: str) -> None:
    async with client(emu, flavour, token="not-the-token") as hooks:
        with pytest.raises(AuthenticationError):
            await hooks.list_webhooks()
