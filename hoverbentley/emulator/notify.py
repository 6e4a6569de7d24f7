"""The events each provider sends, and to which of its webhooks.

Hover posts to every VERIFIED webhook of the organisation: ``job-state-changed`` and
``model-state-changed`` bodies carrying the webhook's id, and, once at registration, the
``webhook-verification-code`` event (to the new, unverified webhook). Bentley posts to every
ACTIVE webhook that lists the event type and whose scope covers the job's iTwin, in the
envelope ``{content, eventType, enqueuedDateTime, iTwinId, messageId, webhookId}``.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from .bentley.v2_store import V2Job
from .bentley.webhooks import BentleyWebhooks
from .deliveries import Target, WebhookSender
from .hover.webhooks import HoverRegistration, HoverWebhooks

#: The event each v2 API sends when one of its jobs ends.
V2_EVENTS = {
    "modeling": "realityModeling.jobCompleted.v2",
    "analysis": "realityAnalysis.jobCompleted.v1",
}


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def enqueued_now() -> str:
    """Now as the Webhooks v2 document writes ``enqueuedDateTime`` (``11/3/2023 8:07:01 PM``)."""
    now = datetime.now(timezone.utc)
    return f"{now.month}/{now.day}/{now.year} {now.strftime('%I:%M:%S %p').lstrip('0')}"


class Notifier:
    """Turns what happened into signed deliveries to the registered webhooks."""

    def __init__(
        self, hover: HoverWebhooks, bentley: BentleyWebhooks, sender: WebhookSender
    ) -> None:
        self.hover = hover
        self.bentley = bentley
        self.sender = sender

    def has_receivers(self) -> bool:
        """Whether a verified Hover webhook or an active Bentley one is registered."""
        hover = any(h.verified for h in self.hover.registrations())
        return hover or any(h.active for h in self.bentley.registrations())

    def hover_verification(self, hook: HoverRegistration) -> None:
        """Post ``webhook-verification-code`` to a newly registered webhook."""
        target = Target("hover", str(hook.id), hook.url, hook.hmac_secret)
        body = _json(hook.verification_event())
        self.sender.send(target, "webhook-verification-code", body, None)

    def hover_event(self, event: str, job_id: int, **fields: Any) -> None:
        """Post a Hover event about ``job_id`` to every verified webhook."""
        for hook in self.hover.registrations():
            if not hook.verified:
                continue
            body = {"event": event, "job_id": job_id, **fields, "webhook_id": hook.id}
            target = Target("hover", str(hook.id), hook.url, hook.hmac_secret)
            self.sender.send(target, event, _json(body), str(job_id))

    def bentley_event(
        self, event_type: str, content: dict[str, Any], itwin_id: str, job_id: str
    ) -> None:
        """Post a Bentley event about ``job_id`` to every active webhook it concerns."""
        for hook in self.bentley.registrations():
            if not hook.active or event_type not in hook.event_types:
                continue
            if hook.scope == "iTwin" and hook.scope_id.lower() != itwin_id.lower():
                continue
            envelope = {
                "content": content,
                "eventType": event_type,
                "enqueuedDateTime": enqueued_now(),
                "iTwinId": itwin_id,
                "messageId": str(uuid.uuid4()),
                "webhookId": hook.id,
            }
            target = Target("bentley", hook.id, hook.callback_url, hook.secret)
            self.sender.send(target, event_type, _json(envelope), job_id)

    def v2_job_ended(self, api: str, job: V2Job) -> None:
        """The event of a v2 job that reached ``Success``, ``Failed`` or ``Cancelled``."""
        event_type = V2_EVENTS[api]
        content: dict[str, Any] = {"jobId": job.id}
        if event_type.endswith(".v2"):
            content["state"] = job.state
        self.bentley_event(event_type, content, job.wire["iTwinId"], job.id)
