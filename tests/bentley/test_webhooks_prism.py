"""The Webhooks v2 client against a mock made from Bentley's official document (Prism).

As for the other documents (``tests/specs/README.md``): Prism runs with ``--errors`` on a copy
without the API-management key scheme and with every JSON answer also offered as the vendor
type, so a request that breaks the document (a missing header, a body with a property the
document does not allow, an unknown path) is answered with an error instead of an example.
The client's requests go through a recording proxy: the tests also assert on what it sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hoverbentley.bentley import CreatedWebhook, WebhooksClient
from hoverbentley.bentley.v2_models import ACCEPT_V2
from hoverbentley.bentley.webhooks import REALITY_EVENTS
from hoverbentley.errors import (
    ConfigurationError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
)
from tests.bentley.test_contract_prism import served_document
from tests.services import ROOT, prism_mock
from tests.support import fast, serve

pytestmark = pytest.mark.anyio
SPEC = ROOT / "tests" / "specs" / "webhooks-v2.json"
DIGEST = "b0fec772b31f69449ecacb5261d17be19b7dcfe39611cce2e02b0e8719f8a999"
ITWIN = "122e514a-70f1-4b34-a2b3-1935b0caca43"
HOOK = "e6989b43-53ab-45e2-a610-560c6f7e879e"
TOKEN = "contract-token"
SECRET = "s" * 40
FAST = fast(max_retries=1, retry_after_max=0.05)


def test_the_document_is_the_published_one() -> None:
    assert hashlib.sha256(SPEC.read_bytes()).hexdigest() == DIGEST


def test_the_document_serves_the_base_url_the_client_uses() -> None:
    from hoverbentley.bentley.webhooks import WEBHOOKS_URL

    servers = json.loads(SPEC.read_bytes())["servers"]
    assert [s["url"] for s in servers] == [WEBHOOKS_URL]


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("prism-webhooks")
    document = workdir / SPEC.name
    document.write_text(json.dumps(served_document(json.loads(SPEC.read_bytes()))))
    with prism_mock(document, workdir) as url:
        yield url


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Proxy:
    url: str
    seen: list[Seen] = field(default_factory=list)
    prefer: str | None = None


@pytest.fixture
async def proxy(prism: str) -> AsyncIterator[Proxy]:
    box: list[Proxy] = []
    session = aiohttp.ClientSession(auto_decompress=False)

    async def forward(request: web.Request) -> web.StreamResponse:
        data = await request.read()
        box[0].seen.append(
            Seen(
                request.method,
                request.path_qs,
                dict(request.headers),
                json.loads(data) if data else None,
            )
        )
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        if box[0].prefer:
            headers["Prefer"] = box[0].prefer
        async with session.request(
            request.method, prism + request.path_qs, headers=headers, data=data
        ) as upstream:
            body = await upstream.read()
            keep = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() in {"content-type", "retry-after"}
            }
            return web.Response(status=upstream.status, body=body, headers=keep)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    async with serve(app) as url:
        box.append(Proxy(url))
        yield box[0]
    await session.close()


def client(base_url: str) -> WebhooksClient:
    return WebhooksClient(token=TOKEN, base_url=base_url, http=FAST)


async def test_every_operation_is_accepted_by_the_document_and_decoded(proxy: Proxy) -> None:
    async with client(proxy.url) as hooks:
        created = await hooks.create_webhook(
            "https://hooks.example.com/bentley", itwin_id=ITWIN, secret=SECRET
        )
        account = await hooks.create_webhook("https://hooks.example.com/account")
        listed = await hooks.list_webhooks()
        one = await hooks.get_webhook(HOOK)
        activated = await hooks.activate_webhook(HOOK)
        deactivated = await hooks.deactivate_webhook(HOOK)
        changed = await hooks.update_webhook(
            HOOK,
            callback_url="https://hooks.example.com/moved",
            event_types=["realityModeling.jobCompleted.v2"],
            secret=SECRET,
        )
        await hooks.delete_webhook(HOOK)
    # Prism answers with the document's examples.
    assert isinstance(created, CreatedWebhook) and created.id and created.secret
    assert created.active is False and account.id
    assert [w.id for w in listed] == [HOOK] and listed[0].event_types
    assert one.id == HOOK and one.scope == "Account" and one.created and one.modified
    assert activated.id == deactivated.id == changed.id == HOOK
    # What the client sent.
    sent = [(s.method, s.path) for s in proxy.seen]
    assert sent == [
        ("POST", "/"),
        ("POST", "/"),
        ("GET", "/"),
        ("GET", f"/{HOOK}"),
        ("PATCH", f"/{HOOK}"),
        ("PATCH", f"/{HOOK}"),
        ("PATCH", f"/{HOOK}"),
        ("DELETE", f"/{HOOK}"),
    ]
    for seen in proxy.seen:
        assert seen.headers["Accept"] == ACCEPT_V2, seen.path
        assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    bodies = [s.body for s in proxy.seen]
    assert bodies[0] == {
        "callbackUrl": "https://hooks.example.com/bentley",
        "scope": "iTwin",
        "eventTypes": list(REALITY_EVENTS),
        "scopeId": ITWIN,
        "secret": SECRET,
    }
    assert bodies[1] == {
        "callbackUrl": "https://hooks.example.com/account",
        "scope": "Account",
        "eventTypes": list(REALITY_EVENTS),
    }
    assert bodies[4] == {"active": True} and bodies[5] == {"active": False}
    assert bodies[6] == {
        "callbackUrl": "https://hooks.example.com/moved",
        "eventTypes": ["realityModeling.jobCompleted.v2"],
        "secret": SECRET,
    }
    assert bodies[2] is None and bodies[3] is None and bodies[7] is None


async def test_the_secret_stays_out_of_reprs(proxy: Proxy) -> None:
    async with client(proxy.url) as hooks:
        created = await hooks.create_webhook("https://hooks.example.com/bentley", secret=SECRET)
    assert created.secret == "custom-secret"  # the document's example answer
    assert "custom-secret" not in repr(created) and "redacted" in repr(created)


@pytest.mark.parametrize(
    ("prefer", "error", "code"),
    [
        ("code=404", NotFoundError, "WebhookNotFound"),
        ("code=422", UnprocessableEntityError, "InvalidUpdateWebhookRequest"),
        ("code=429", RateLimitError, "RateLimitExceeded"),
    ],
)
async def test_documented_errors_are_typed(
    proxy: Proxy, prefer: str, error: type[Exception], code: str
) -> None:
    proxy.prefer = prefer
    async with client(proxy.url) as hooks:
        with pytest.raises(error) as caught:
            await hooks.activate_webhook(HOOK)
    assert type(caught.value) is error
    assert getattr(caught.value, "code", None) == code
    assert TOKEN not in str(caught.value)


async def test_a_create_the_document_refuses_is_a_typed_error(proxy: Proxy) -> None:
    proxy.prefer = "code=422"
    async with client(proxy.url) as hooks:
        with pytest.raises(UnprocessableEntityError) as caught:
            await hooks.create_webhook("https://hooks.example.com/bentley")
    assert caught.value.code == "InvalidCreateWebhookRequest"
    assert [d.target for d in caught.value.details] == ["callbackUrl"]


async def test_mistakes_are_refused_before_sending(proxy: Proxy) -> None:
    async with client(proxy.url) as hooks:
        with pytest.raises(ConfigurationError, match="at least 32 characters"):
            await hooks.create_webhook("https://hooks.example.com/b", secret="short")
        with pytest.raises(ConfigurationError, match="at least one event type"):
            await hooks.create_webhook("https://hooks.example.com/b", [])
        with pytest.raises(ConfigurationError, match="absolute https:// URL"):
            await hooks.create_webhook("hooks.example.com/b")
        with pytest.raises(ConfigurationError, match="nothing to update"):
            await hooks.update_webhook(HOOK)
        with pytest.raises(ConfigurationError, match="must not be empty"):
            await hooks.get_webhook(" ")
    assert proxy.seen == []


async def test_the_mock_is_strict(prism: str) -> None:
    """A body with a property the document does not allow, or no Authorization header: no
    data, so the calls above were checked."""
    headers = {"Accept": ACCEPT_V2, "Authorization": f"Bearer {TOKEN}"}
    body = {"callbackUrl": "https://hooks.example.com/b", "scope": "Account", "name": "x"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{prism}/", json=body, headers=headers) as resp:
            assert resp.status == 422
            assert "additionalProperties" in resp.headers.get("sl-violations", "")
        async with session.get(f"{prism}/{HOOK}", headers={"Accept": ACCEPT_V2}) as resp:
            assert resp.status == 422
            assert "authorization" in (await resp.text()).lower()
