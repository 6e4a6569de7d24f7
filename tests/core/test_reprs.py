"""No secret in what a value shows of itself: ``repr``, ``str`` and the ``__rich_repr__``
that ``rich`` and IPython's pretty printers ask a msgspec Struct for."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from hoverbentley import HoverClient
from hoverbentley.auth import StoredTokens
from hoverbentley.bentley.reality import ContainerAccess
from hoverbentley.bentley.v2_models import BucketResponse
from hoverbentley.bentley.webhooks import CreatedWebhook, WebhookCreation, WebhookUpdate
from hoverbentley.hover.models import TokenResponse
from hoverbentley.hover.webhooks import Webhook
from hoverbentley.sync import SyncHoverClient

pytestmark = pytest.mark.anyio

SECRET = "s3cr3t-value-0042"
SAS = f"https://acct.blob.core.windows.net/c?sv=2022&sig={SECRET}"

WIRE: list[tuple[type[Any], dict[str, Any]]] = [
    (StoredTokens, {"refresh_token": SECRET, "access_token": SECRET}),
    (TokenResponse, {"access_token": SECRET, "refresh_token": SECRET}),
    (Webhook, {"id": 7, "url": "https://hooks.example/h", "hmac_secret": SECRET}),
    (CreatedWebhook, {"id": "w1", "callbackUrl": "https://hooks.example/b", "secret": SECRET}),
    (
        WebhookCreation,
        {
            "callbackUrl": "https://h.example",
            "scope": "Project",
            "eventTypes": [],
            "secret": SECRET,
        },
    ),
    (WebhookUpdate, {"active": True, "secret": SECRET}),
    (ContainerAccess, {"type": "AzureBlobSasUrl", "_links": {"containerUrl": {"href": SAS}}}),
    (BucketResponse, {"bucket": {"iTwinId": "t1"}, "_links": {"containerUrl": {"href": SAS}}}),
]


@pytest.mark.parametrize(("kind", "wire"), WIRE, ids=[k.__name__ for k, _ in WIRE])
def test_structs_that_hold_secrets_never_show_them(kind: type[Any], wire: dict[str, Any]) -> None:
    value = msgspec.json.decode(msgspec.json.encode(wire), type=kind)
    assert SECRET in msgspec.json.encode(value).decode()  # the secret is in the value
    shown = dict(value.__rich_repr__())
    assert SECRET not in f"{value!r} {value} {shown!r}"
    assert set(shown) == set(kind.__struct_fields__)  # every field named, the secret hidden
    assert "<redacted>" in shown.values()


URL = f"https://ops:{SECRET}@hover.example/?token={SECRET}"


async def test_a_client_shows_its_base_url_without_credentials() -> None:
    client = HoverClient(token="t", current_user_email="ops@example.com", base_url=URL)
    try:
        assert repr(client) == (
            "HoverClient(base_url='https://ops:REDACTED@hover.example/?token=REDACTED')"
        )
    finally:
        await client.aclose()


def test_a_sync_client_shows_its_base_url_without_credentials() -> None:
    with SyncHoverClient(token="t", current_user_email="ops@example.com", base_url=URL) as c:
        assert SECRET not in repr(c) and "ops:REDACTED@hover.example" in repr(c)
    assert SECRET not in repr(c) and repr(c).endswith(", closed)")
