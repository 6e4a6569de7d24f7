"""Hover's webhooks (``/api/v2/webhooks``): register one, confirm it, list and delete them.

One webhook covers the whole organisation of the user the requests act for. Registering
answers with the webhook and its ``hmac_secret`` (base64 text), the key of the signature of
every event: keep it, and keep it private. Hover then posts a ``webhook-verification-code``
event (``{"event": "webhook-verification-code", "code": ..., "webhook_id": ...}``) to the URL,
and sends no other event until that code comes back through
:meth:`~hoverbentley.hover.HoverClient.verify_webhook` (``PUT /api/v2/webhooks/{code}/verify``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec

from .._core.decode import decode_json
from .._core.urls import callback_url
from ..errors import ConfigurationError, DecodeError
from ..redact import rich_repr_without
from .models import Pagination, hover_id

WEBHOOKS_PATH = "/api/v2/webhooks"


class Webhook(msgspec.Struct, kw_only=True, gc=False):
    """A registered webhook; ``verified_at`` stays ``None`` until its code was confirmed."""

    id: int
    owner_type: str | None = None
    owner_id: int | None = None
    url: str | None = None
    content_type: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    verified_at: str | None = None
    last_error: str | None = None
    #: The key of the events' signatures (base64 text, as Hover sends it).
    hmac_secret: str | None = None

    @property
    def verified(self) -> bool:
        """Whether Hover sends this webhook events (its verification code was confirmed)."""
        return self.verified_at is not None

    def public(self) -> dict[str, Any]:
        """The webhook as JSON-ready builtins, without ``hmac_secret``."""
        fields: dict[str, Any] = msgspec.to_builtins(self)
        fields.pop("hmac_secret", None)
        return fields

    __rich_repr__ = rich_repr_without("hmac_secret")

    def __repr__(self) -> str:
        return (
            f"Webhook(id={self.id}, url={self.url!r}, verified_at={self.verified_at!r},"
            " hmac_secret=<redacted>)"
        )


class WebhookPage(msgspec.Struct, kw_only=True, gc=False):
    """One page of ``GET /api/v2/webhooks``."""

    pagination: Pagination | None = None
    results: list[Webhook] | None = None

    @property
    def items(self) -> list[Webhook]:
        return self.results or []


_ANY = msgspec.json.Decoder()
_PAGE = msgspec.json.Decoder(WebhookPage)


def registration(url: str, content_type: str = "json") -> dict[str, Any]:
    """The body of ``POST /api/v2/webhooks``; ``url`` must be an absolute http(s) URL."""
    url = callback_url(url, "a webhook URL")
    return {"webhook": {"url": url, "content_type": content_type}}


def decode_webhook(body: bytes, url: str) -> Webhook:
    """The webhook of a create answer: the object itself, or one wrapped in ``webhook``."""
    data = decode_json(_ANY, body, url)
    if isinstance(data, dict) and "id" not in data and isinstance(data.get("webhook"), dict):
        data = data["webhook"]
    try:
        return msgspec.convert(data, Webhook)
    except msgspec.ValidationError as exc:
        raise DecodeError(f"not a webhook: {exc}", url=url) from None


def decode_page(body: bytes, url: str) -> WebhookPage:
    """One page of the webhook list."""
    return decode_json(_PAGE, body, url)


def verify_path(code: str) -> str:
    """The path that confirms the verification ``code`` Hover posted to the webhook."""
    text = str(code).strip()
    if not text:
        raise ConfigurationError("the verification code must not be empty")
    return f"{WEBHOOKS_PATH}/{quote(text, safe='')}/verify"


def webhook_path(webhook_id: int) -> str:
    """The path of one webhook."""
    return f"{WEBHOOKS_PATH}/{hover_id(webhook_id, 'webhook id')}"
