"""Registering iTwin Webhooks v2 (``https://api.bentley.com/webhooks``).

A webhook is created **inactive**: :meth:`WebhooksClient.activate_webhook` (``PATCH`` with
``active: true``) starts the events. Its secret, which signs every event (HMAC-SHA256 of the
body), is sent back once, by the create call: the service generates one when none is given (a
given one must be at least 32 characters). Only service applications (client credentials) may
call this API; the scope is ``Account`` (the service application's account) or ``iTwin`` with
that iTwin's id.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from .._core.urls import callback_url
from ..errors import ConfigurationError
from ..redact import rich_repr_without
from .base import BentleyApi
from .defaults import REALITY_EVENTS, WEBHOOKS_URL
from .listing import id_segment
from .models import _Model
from .v2_models import ACCEPT_V2

SCOPES = ("Account", "iTwin")
#: The shortest secret the service takes.
MIN_SECRET_LENGTH = 32


class _WebhookFields(_Model):
    """The fields every answer about a webhook carries."""

    id: str
    scope: str | None = None
    scope_id: str | None = None
    active: bool | None = None
    callback_url: str | None = None
    event_types: list[str] = msgspec.field(default_factory=list)


class Webhook(_WebhookFields):
    """A webhook as ``GET``, ``PATCH`` and the list return it (never with its secret)."""

    created: str | None = None
    modified: str | None = None


class CreatedWebhook(_WebhookFields):
    """The answer of ``POST /webhooks``: the webhook, still inactive, and its secret."""

    secret: str | None = None

    __rich_repr__ = rich_repr_without("secret")

    def __repr__(self) -> str:
        return (
            f"CreatedWebhook(id={self.id!r}, scope={self.scope!r}, active={self.active},"
            f" callback_url={self.callback_url!r}, event_types={self.event_types!r},"
            " secret=<redacted>)"
        )


class WebhooksResponse(_Model):
    webhooks: list[Webhook] = msgspec.field(default_factory=list)


class WebhookCreation(_Model):
    """The body of ``POST /webhooks``."""

    callback_url: str
    scope: str
    event_types: list[str]
    scope_id: str | None = None
    secret: str | None = None

    __rich_repr__ = rich_repr_without("secret")

    def __repr__(self) -> str:
        return f"WebhookCreation(callback_url={self.callback_url!r}, scope={self.scope!r}, ...)"


class WebhookUpdate(_Model):
    """The body of ``PATCH /webhooks/{id}``: only the fields given change."""

    active: bool | None = None
    callback_url: str | None = None
    event_types: list[str] | None = None
    secret: str | None = None

    __rich_repr__ = rich_repr_without("secret")

    def __repr__(self) -> str:
        return f"WebhookUpdate(active={self.active!r}, callback_url={self.callback_url!r}, ...)"


_WEBHOOK = msgspec.json.Decoder(Webhook)
_CREATED = msgspec.json.Decoder(CreatedWebhook)
_LIST = msgspec.json.Decoder(WebhooksResponse)


class WebhooksClient(BentleyApi):
    """Create, activate, list, get, update and delete iTwin webhooks (Webhooks v2).

    Takes the credentials of the other Bentley clients (``auth=other.auth`` shares them and
    their token) and sends the v2 ``Accept`` header. Use as ``async with WebhooksClient(...)``.
    """

    default_base_url: ClassVar[str | None] = WEBHOOKS_URL
    default_accept: ClassVar[str] = ACCEPT_V2

    async def create_webhook(
        self,
        callback_url: str,
        event_types: list[str] | tuple[str, ...] = REALITY_EVENTS,
        *,
        itwin_id: str | None = None,
        secret: str | None = None,
    ) -> CreatedWebhook:
        """``POST /webhooks``: a new, **inactive** webhook and its secret.

        Scoped to the iTwin ``itwin_id``, else to the service application's account. Without
        ``secret`` the service generates one. The secret is in the answer only: keep it.
        """
        creation = WebhookCreation(
            callback_url=_checked_url(callback_url),
            scope="iTwin" if itwin_id else "Account",
            scope_id=itwin_id or None,
            event_types=_checked_events(event_types),
            secret=_checked_secret(secret),
        )
        created = await self._call(_CREATED, "POST", "/", creation)
        self.transport.scrubber.add(created.secret)
        return created

    async def activate_webhook(self, webhook_id: str) -> Webhook:
        """``PATCH /webhooks/{id}`` with ``active: true``: the events start."""
        return await self.update_webhook(webhook_id, active=True)

    async def deactivate_webhook(self, webhook_id: str) -> Webhook:
        """``PATCH /webhooks/{id}`` with ``active: false``: the events stop."""
        return await self.update_webhook(webhook_id, active=False)

    async def update_webhook(
        self,
        webhook_id: str,
        *,
        active: bool | None = None,
        callback_url: str | None = None,
        event_types: list[str] | tuple[str, ...] | None = None,
        secret: str | None = None,
    ) -> Webhook:
        """``PATCH /webhooks/{id}``: change what is given, keep the rest."""
        update = WebhookUpdate(
            active=active,
            callback_url=None if callback_url is None else _checked_url(callback_url),
            event_types=None if event_types is None else _checked_events(event_types),
            secret=_checked_secret(secret),
        )
        if update == WebhookUpdate():
            raise ConfigurationError("nothing to update: give active, callback_url, ...")
        self.transport.scrubber.add(secret)
        return await self._call(_WEBHOOK, "PATCH", f"/{id_segment(webhook_id)}", update)

    async def get_webhook(self, webhook_id: str) -> Webhook:
        """``GET /webhooks/{id}``."""
        return await self._call(_WEBHOOK, "GET", f"/{id_segment(webhook_id)}")

    async def list_webhooks(self) -> list[Webhook]:
        """``GET /webhooks``: every webhook the calling service application created."""
        return (await self._call(_LIST, "GET", "/")).webhooks

    async def delete_webhook(self, webhook_id: str) -> None:
        """``DELETE /webhooks/{id}``: its events stop for good."""
        await self.transport.request("DELETE", f"/{id_segment(webhook_id)}")


def _checked_url(url: str) -> str:
    return callback_url(url, "a callback URL")


def _checked_events(events: list[str] | tuple[str, ...]) -> list[str]:
    if isinstance(events, str):
        events = [events]
    chosen = [e for e in events if e]
    if not chosen:
        raise ConfigurationError("a webhook needs at least one event type")
    return chosen


def _checked_secret(secret: str | None) -> str | None:
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"a webhook secret must be at least {MIN_SECRET_LENGTH} characters"
            f" (this one has {len(secret)})"
        )
    return secret
