"""Hover's webhook registrations (``/api/v2/webhooks``).

``POST`` registers ``{"webhook": {"url", "content_type"}}`` for the organisation (201, the
webhook with its ``hmac_secret``, ``verified_at`` null) and draws the code of the
``webhook-verification-code`` event Hover posts to the URL; ``PUT /{code}/verify`` confirms
it (200, no body; no token needed, as the documentation says; only then do events go to the
webhook); ``GET`` lists the webhooks in
the page-numbered envelope; ``DELETE /{id}`` removes one. A registration without a URL, with a
URL that is not absolute http(s), or with a content type other than ``json`` is refused with a
422 (Hover's wording of these is not documented: ``{"error": ...}`` as elsewhere). The
verification event is posted by :attr:`HoverWebhooks.on_created` (the emulator's sender): it may
reach the URL before the registration's answer reaches the client, and is retried.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from ..config import EmulatorConfig
from ..respond import json_response
from .errors import hover_error, int_param

PATH = "/api/v2/webhooks"
#: The organisation the emulated users belong to (the webhooks' owner).
ORG_ID = 492855
FIRST_ID = 12343


def _now() -> str:
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class HoverRegistration:
    """One webhook: its URL, its secret, the verification code posted to it, and whether that
    code came back."""

    id: int
    url: str
    content_type: str = "json"
    hmac_secret: str = field(
        default_factory=lambda: base64.b64encode(secrets.token_bytes(64)).decode(), repr=False
    )
    #: The code of the ``webhook-verification-code`` event.
    code: str = field(default_factory=lambda: str(uuid.uuid4()), repr=False)
    created_at: str = field(default_factory=_now)
    updated_at: str = ""
    verified_at: str | None = None
    last_error: str | None = None
    owner_id: int = ORG_ID

    def __post_init__(self) -> None:
        self.updated_at = self.updated_at or self.created_at

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    def wire(self) -> dict[str, Any]:
        """As the API answers it (the secret included, as Hover lists it)."""
        return {
            "id": self.id,
            "owner_type": "Org",
            "owner_id": self.owner_id,
            "url": self.url,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "verified_at": self.verified_at,
            "hmac_secret": self.hmac_secret,
            "last_error": self.last_error,
            "content_type": self.content_type,
        }

    def verification_event(self) -> dict[str, Any]:
        """The body of the ``webhook-verification-code`` event Hover posts to :attr:`url`."""
        return {"event": "webhook-verification-code", "code": self.code, "webhook_id": self.id}


class HoverWebhooks:
    """The organisation's webhooks and the routes over them."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.hooks: dict[int, HoverRegistration] = {}
        self._next_id = FIRST_ID
        #: Called with each new webhook (to post its ``webhook-verification-code`` event).
        self.on_created: Callable[[HoverRegistration], None] | None = None

    def registrations(self) -> list[HoverRegistration]:
        """Every webhook, in registration order (verified or not, codes and secrets included)."""
        return list(self.hooks.values())

    async def create(self, request: web.Request) -> web.StreamResponse:
        """``POST /api/v2/webhooks``: 201 with the new, unverified webhook."""
        try:
            body = await request.json()
        except ValueError:
            return hover_error(400, "The body is not valid JSON")
        hook = body.get("webhook") if isinstance(body, dict) else None
        if not isinstance(hook, dict):
            return hover_error(400, "param is missing or the value is empty: webhook")
        url = hook.get("url")
        if not isinstance(url, str) or not url.strip():
            return hover_error(422, "Url can't be blank")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return hover_error(422, "Url is invalid")
        content_type = hook.get("content_type", "json")
        if content_type != "json":
            return hover_error(422, "Content type is not included in the list")
        registration = self.add(url, content_type)
        if self.on_created is not None:
            self.on_created(registration)
        return json_response(registration.wire(), status=201)

    def add(self, url: str, content_type: str = "json") -> HoverRegistration:
        """Register a webhook for ``url`` (not verified yet)."""
        registration = HoverRegistration(id=self._next_id, url=url, content_type=content_type)
        self._next_id += 1
        self.hooks[registration.id] = registration
        return registration

    async def list(self, request: web.Request) -> web.StreamResponse:
        """``GET /api/v2/webhooks``: one page of the webhooks."""
        query = request.query
        page = max(1, int_param(query.get("page"), 1, "page"))
        size = query.get("per") or query.get("per_page")
        per = min(max(1, int_param(size, 25, "per")), self.config.max_page_size)
        hooks = list(self.hooks.values())
        total_pages = max(1, -(-len(hooks) // per))
        shown = [h.wire() for h in hooks[(page - 1) * per : page * per]]
        pagination = {"current_page": page, "total_pages": total_pages, "total": len(hooks)}
        return json_response({"pagination": pagination, "results": shown})

    async def delete(self, request: web.Request) -> web.StreamResponse:
        """``DELETE /api/v2/webhooks/{id}``: 204."""
        webhook_id = request.match_info["webhook_id"]
        found = self.hooks.pop(int(webhook_id), None) if webhook_id.isdigit() else None
        if found is None:
            return hover_error(404, f"Webhook {webhook_id} not found")
        return web.Response(status=204)

    async def verify(self, request: web.Request) -> web.StreamResponse:
        """``PUT /api/v2/webhooks/{code}/verify``: 200 with no body; events may start."""
        code = request.match_info["code"]
        hook = next((h for h in self.hooks.values() if h.code == code), None)
        if hook is None:
            return hover_error(404, "Verification code not found")
        if hook.verified_at is None:
            hook.verified_at = hook.updated_at = _now()
        return web.Response(status=200)
