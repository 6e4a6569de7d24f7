"""HoverClient's webhook calls against the emulator: register, the verification handshake,
list (paged), delete, refusals, and the secret kept out of reprs and errors."""

from __future__ import annotations

import aiohttp
import pytest

from hoverbentley.emulator import Emulator
from hoverbentley.errors import ConfigurationError, NotFoundError, UnprocessableEntityError
from hoverbentley.hover import Webhook
from hoverbentley.hover.webhooks import registration
from tests.support import hover_client, user_email

pytestmark = pytest.mark.anyio
URL = "https://hooks.example.com/hover"


async def test_register_then_confirm_the_verification_code(emu: Emulator, flavour: str) -> None:
    async with hover_client(emu, flavour) as hover:
        created = await hover.create_webhook(URL)
        (stored,) = emu.hover_webhooks.registrations()
        # What Hover posts to the URL right after; the receiver hands its code back.
        event = stored.verification_event()
        assert event == {
            "event": "webhook-verification-code",
            "code": stored.code,
            "webhook_id": created.id,
        }
        await hover.verify_webhook(event["code"])
        (listed,) = await hover.list_webhooks()
    assert isinstance(created, Webhook) and created.url == URL and created.content_type == "json"
    assert created.owner_type == "Org" and created.owner_id and created.created_at
    assert created.verified_at is None and not created.verified
    assert created.hmac_secret == stored.hmac_secret and len(created.hmac_secret) > 40
    assert listed.id == created.id and listed.verified and stored.verified
    (post,) = [r for r in emu.requests_to("hover", "/api/v2/webhooks?") if r.method == "POST"]
    assert post.query["current_user_email"] == user_email(emu)
    assert any(r.method == "PUT" for r in emu.requests_to("hover", f"/{event['code']}/verify"))


async def test_the_request_body_is_the_documented_one(emu: Emulator, flavour: str) -> None:
    assert registration(URL) == {"webhook": {"url": URL, "content_type": "json"}}
    async with hover_client(emu, flavour) as hover:
        await hover.create_webhook(URL)
    (post,) = emu.requests_to("hover", "/api/v2/webhooks?")
    assert post.headers.get("Content-Type", "").startswith("application/json")
    assert emu.hover_webhooks.registrations()[0].url == URL


async def test_the_secret_is_kept_out_of_reprs(emu: Emulator, flavour: str) -> None:
    async with hover_client(emu, flavour) as hover:
        created = await hover.create_webhook(URL)
        listed = await hover.list_webhooks()
    secret = created.hmac_secret
    assert secret is not None
    for shown in (repr(created), str(created), repr(listed)):
        assert secret not in shown and "redacted" in shown
    assert "hmac_secret" not in created.public() and created.public()["url"] == URL


async def test_list_follows_the_pages_and_delete_removes_one(emu: Emulator, flavour: str) -> None:
    async with hover_client(emu, flavour) as hover:
        made = [await hover.create_webhook(f"{URL}/{n}") for n in range(27)]
        everything = await hover.list_webhooks()
        await hover.delete_webhook(made[3].id)
        after = [w.id async for w in hover.iter_webhooks()]
        with pytest.raises(NotFoundError):
            await hover.delete_webhook(made[3].id)
    assert [w.id for w in everything] == [w.id for w in made]
    assert after == [w.id for w in made if w.id != made[3].id]
    pages = [r.query.get("page") for r in emu.requests_to("hover", "/api/v2/webhooks?")]
    assert pages.count("2") == 2  # the emulator pages by 25: two pages, each time


async def test_unknown_code_and_refused_registrations(emu: Emulator, flavour: str) -> None:
    async with hover_client(emu, flavour) as hover:
        with pytest.raises(NotFoundError):
            await hover.verify_webhook("4addd2b9-5cd7-497f-9f32-52ff0718ddbb")
        with pytest.raises(UnprocessableEntityError, match="Content type"):
            await hover.create_webhook(URL, content_type="xml")
        with pytest.raises(ConfigurationError, match="absolute https:// URL"):
            await hover.create_webhook("hooks.example.com/hover")
        with pytest.raises(ConfigurationError, match="must not be empty"):
            await hover.verify_webhook("  ")
    assert emu.hover_webhooks.registrations() == []


async def test_raw_routes_check_the_user_and_the_body(emu: Emulator) -> None:
    token = {"Authorization": f"Bearer {emu.config.token}"}
    user = {"current_user_email": user_email(emu)}
    hooks = f"{emu.hover_url}/api/v2/webhooks"
    async with aiohttp.ClientSession(headers=token) as session:
        async with session.post(hooks, json={"webhook": {"url": URL}}) as resp:
            assert resp.status == 422  # no current user
        async with session.post(hooks, params=user, json={"url": URL}) as resp:
            assert resp.status == 400
        async with session.post(hooks, params=user, json={"webhook": {"url": ""}}) as resp:
            assert resp.status == 422 and "blank" in (await resp.json())["error"]
        async with session.post(hooks, params=user, json={"webhook": {"url": "ftp://x"}}) as r:
            assert r.status == 422 and "invalid" in (await r.json())["error"]
    async with aiohttp.ClientSession() as anonymous, anonymous.get(hooks, params=user) as resp:
        assert resp.status == 401
    assert emu.hover_webhooks.registrations() == []
