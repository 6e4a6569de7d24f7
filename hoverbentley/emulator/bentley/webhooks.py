"""iTwin Webhooks v2 (``/webhooks``): registrations, inactive until activated.

As the official document describes it: ``POST /`` creates a webhook (202, **inactive**, its
secret in the answer, generated when none was given), ``PATCH /{id}`` changes it (``active:
true`` activates it), ``GET /`` lists, ``GET /{id}`` shows and ``DELETE /{id}`` deletes (204).
A body the document does not allow (an unknown property, a missing callback URL, scope or
event type, a callback URL that is not ``https``, a secret under 32 characters) is a 422
``InvalidCreateWebhookRequest`` or ``InvalidUpdateWebhookRequest`` whose detail names the
property; an unknown id is a 404 ``WebhookNotFound``. The emulator's sender signs the events
of active webhooks with their secrets (:meth:`BentleyWebhooks.registrations`).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from ..bentley_catalog import timestamp
from ..respond import json_response
from .errors import bentley_error
from .jobs import NOT_JSON, json_body
from .v2_create import is_guid

PREFIX = "/webhooks"
#: The account of the service application the emulator answers (the ``Account`` scope's id).
ACCOUNT_ID = "5c9d64cf-d22f-4149-ad08-c24ff395c3a0"
MIN_SECRET = 32
#: Every event type the official document names.
EVENT_TYPES = frozenset(
    {
        "iTwins.iTwinCreated.v1",
        "iTwins.iTwinDeleted.v1",
        "iTwins.iTwinUpdated.v1",
        "accessControl.memberAdded.v1",
        "accessControl.memberRemoved.v1",
        "accessControl.roleAssigned.v1",
        "accessControl.roleUnassigned.v1",
        "accessControl.invitationCreated.v1",
        "accessControl.invitation.created.v1",
        "iModels.iModelDeleted.v1",
        "iModels.iModelCreated.v1",
        "iModels.namedVersionCreated.v1",
        "iModels.changesReady.v1",
        "synchronization.jobCompleted.v1",
        "export.jobCompleted.v1",
        "transformations.jobCompleted.v1",
        "realityModeling.jobCompleted.v1",
        "realityModeling.jobCompleted.v2",
        "realityAnalysis.jobCompleted.v1",
        "realityConversion.jobCompleted.v1",
        "changedElements.jobCompleted.v1",
        *(
            f"forms.{name}.v1"
            for name in (
                "attachmentAttached",
                "attachmentUnattached",
                "commentCreated",
                "formCreated",
                "formDeleted",
                "formUpdated",
                "externalFileLinked",
                "externalFileUnlinked",
                "metadataDeleted",
            )
        ),
        *(
            f"issues.{name}.v1"
            for name in (
                "attachmentAttached",
                "attachmentUnattached",
                "commentCreated",
                "issueCreated",
                "issueDeleted",
                "issueUpdated",
                "externalFileLinked",
                "externalFileUnlinked",
                "metadataDeleted",
            )
        ),
    }
)
_CREATE_KEYS = frozenset({"callbackUrl", "secret", "scope", "scopeId", "eventTypes"})
_UPDATE_KEYS = frozenset({"callbackUrl", "secret", "active", "eventTypes"})


def _now() -> str:
    return timestamp(datetime.now(timezone.utc), True)


@dataclass
class BentleyRegistration:
    """One webhook: where its events go, which, signed with what, and whether it is active."""

    id: str
    scope: str
    scope_id: str
    callback_url: str
    secret: str = field(repr=False)
    event_types: list[str]
    active: bool = False
    created: str = field(default_factory=_now)
    modified: str = ""

    def __post_init__(self) -> None:
        self.modified = self.modified or self.created

    def wire(self) -> dict[str, Any]:
        """As ``GET`` answers it (the ``webhook`` schema: no secret)."""
        return {
            "id": self.id,
            "scope": self.scope,
            "scopeId": self.scope_id,
            "active": self.active,
            "callbackUrl": self.callback_url,
            "eventTypes": list(self.event_types),
            "created": self.created,
            "modified": self.modified,
        }

    def created_wire(self) -> dict[str, Any]:
        """As ``POST`` answers it (``response-create-webhook``: the secret, no timestamps)."""
        return {
            "id": self.id,
            "callbackUrl": self.callback_url,
            "secret": self.secret,
            "scope": self.scope,
            "scopeId": self.scope_id,
            "active": self.active,
            "eventTypes": list(self.event_types),
        }


class _Refused(ValueError):
    def __init__(self, target: str, message: str) -> None:
        super().__init__(message)
        self.target = target
        self.message = message


class BentleyWebhooks:
    """The webhooks of the emulated service application, and the routes over them."""

    def __init__(self) -> None:
        self.hooks: dict[str, BentleyRegistration] = {}
        #: Whether an ``http://`` callback URL is taken (the service wants ``https``; a test
        #: whose receiver has no certificate may allow it).
        self.allow_http = False

    def registrations(self) -> list[BentleyRegistration]:
        """Every webhook, in creation order (active or not, secrets included)."""
        return list(self.hooks.values())

    def add(
        self,
        callback_url: str,
        event_types: list[str],
        *,
        active: bool = True,
        itwin_id: str | None = None,
        secret: str | None = None,
    ) -> BentleyRegistration:
        """Create a webhook without a request: scope ``Account``, or ``iTwin`` with ``itwin_id``."""
        hook = BentleyRegistration(
            id=str(uuid.uuid4()),
            scope="Account" if itwin_id is None else "iTwin",
            scope_id=ACCOUNT_ID if itwin_id is None else itwin_id,
            callback_url=callback_url,
            secret=secret or secrets.token_urlsafe(48),
            event_types=_events(event_types),
            active=active,
        )
        self.hooks[hook.id] = hook
        return hook

    def routes(self) -> list[tuple[str, str, Any]]:
        """(method, path, handler) of the API."""
        return [
            ("POST", PREFIX, self.create),
            ("POST", f"{PREFIX}/", self.create),
            ("GET", PREFIX, self.list),
            ("GET", f"{PREFIX}/", self.list),
            ("GET", f"{PREFIX}/{{webhook_id}}", self.get),
            ("PATCH", f"{PREFIX}/{{webhook_id}}", self.patch),
            ("DELETE", f"{PREFIX}/{{webhook_id}}", self.delete),
        ]

    async def create(self, request: web.Request) -> web.StreamResponse:
        """``POST /webhooks``: 202 with the new, inactive webhook and its secret."""
        body = await json_body(request)
        try:
            hook = self._new(body)
        except _Refused as exc:
            return _invalid("Create", "create", exc)
        self.hooks[hook.id] = hook
        return json_response(hook.created_wire(), status=202)

    async def list(self, request: web.Request) -> web.StreamResponse:
        """``GET /webhooks``: every webhook."""
        return json_response({"webhooks": [h.wire() for h in self.hooks.values()]})

    async def get(self, request: web.Request) -> web.StreamResponse:
        """``GET /webhooks/{id}``."""
        hook = self.hooks.get(request.match_info["webhook_id"])
        return _not_found() if hook is None else json_response(hook.wire())

    async def patch(self, request: web.Request) -> web.StreamResponse:
        """``PATCH /webhooks/{id}``: change what the body gives (``active`` included)."""
        hook = self.hooks.get(request.match_info["webhook_id"])
        if hook is None:
            return _not_found()
        body = await json_body(request)
        try:
            changes = self._changes(body)
        except _Refused as exc:
            return _invalid("Update", "update", exc)
        for name, value in changes.items():
            setattr(hook, name, value)
        hook.modified = _now()
        return json_response(hook.wire())

    async def delete(self, request: web.Request) -> web.StreamResponse:
        """``DELETE /webhooks/{id}``: 204."""
        if self.hooks.pop(request.match_info["webhook_id"], None) is None:
            return _not_found()
        return web.Response(status=204)

    # -- checking bodies --------------------------------------------------------------------

    def _new(self, body: Any) -> BentleyRegistration:
        _object(body, _CREATE_KEYS)
        if "callbackUrl" not in body:
            raise _Refused("callbackUrl", "callbackUrl is required.")
        if "scope" not in body:
            raise _Refused("scope", "scope is required.")
        if "eventTypes" not in body:
            raise _Refused("eventTypes", "eventTypes is required.")
        scope = body["scope"]
        if scope not in ("Account", "iTwin"):
            raise _Refused("scope", "scope must be 'Account' or 'iTwin'.")
        scope_id = ACCOUNT_ID
        if scope == "iTwin":
            scope_id = body.get("scopeId")
            if not is_guid(scope_id):
                raise _Refused("scopeId", "scopeId must be the iTwin's id with scope 'iTwin'.")
        given = body.get("secret")
        return BentleyRegistration(
            id=str(uuid.uuid4()),
            scope=scope,
            scope_id=str(scope_id),
            callback_url=self._url(body["callbackUrl"]),
            secret=_secret(given) if "secret" in body else secrets.token_urlsafe(48),
            event_types=_events(body["eventTypes"]),
        )

    def _changes(self, body: Any) -> dict[str, Any]:
        _object(body, _UPDATE_KEYS)
        changes: dict[str, Any] = {}
        if "active" in body:
            if not isinstance(body["active"], bool):
                raise _Refused("active", "active must be true or false.")
            changes["active"] = body["active"]
        if "callbackUrl" in body:
            changes["callback_url"] = self._url(body["callbackUrl"])
        if "eventTypes" in body:
            changes["event_types"] = _events(body["eventTypes"])
        if "secret" in body:
            changes["secret"] = _secret(body["secret"])
        return changes

    def _url(self, value: Any) -> str:
        parts = urlsplit(value) if isinstance(value, str) else None
        schemes = ("https", "http") if self.allow_http else ("https",)
        if parts is None or parts.scheme not in schemes or not parts.netloc:
            raise _Refused("callbackUrl", "callbackUrl must be an absolute HTTPS URL.")
        return str(value)


def _object(body: Any, allowed: frozenset[str]) -> None:
    if body is NOT_JSON or not isinstance(body, dict):
        raise _Refused("body", "The body must be a JSON object.")
    for key in body:
        if key not in allowed:
            raise _Refused(key, f"Property '{key}' is not allowed.")


def _events(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _Refused("eventTypes", "eventTypes must list at least one event type.")
    for event in value:
        if event not in EVENT_TYPES:
            raise _Refused("eventTypes", f"Unknown event type: {event!r}.")
    return list(dict.fromkeys(value))


def _secret(value: Any) -> str:
    if not isinstance(value, str) or len(value) < MIN_SECRET:
        raise _Refused("secret", f"secret must be at least {MIN_SECRET} characters.")
    return value


def _invalid(verb: str, word: str, exc: _Refused) -> web.Response:
    return bentley_error(
        422,
        f"Invalid{verb}WebhookRequest",
        f"Cannot {word} a webhook. Make sure the request body is valid.",
        [{"code": "InvalidRequestBody", "message": exc.message, "target": exc.target}],
    )


def _not_found() -> web.Response:
    return bentley_error(404, "WebhookNotFound", "Requested webhook is not available.")
