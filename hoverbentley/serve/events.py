"""What the service does with a verified event: which job, which message, archive or note.

An event names a job by an id the sender chose. Ids are checked here before anything uses
them: a Hover job id is a number, a Bentley job id a UUID-like word (letters, digits, ``-``
and ``_``). Anything else (``../../x``, ``/etc``, a NUL, 10,000 characters) is refused as a
:class:`~hoverbentley.errors.MalformedEvent`, so no path or URL is ever made of it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import msgspec

from ..bentley.webhook_events import BentleyEvent
from ..errors import MalformedEvent
from ..hover.models import LARGEST_JOB_ID
from ..hover.webhook_events import HoverEvent, JobStateChanged, ModelCreated, ModelStateChanged

#: Hover job states after which a job's files do not change (``completed`` is the job's
#: ``reconstruction_state``, ``complete`` what ``job-state-changed`` says).
HOVER_FINAL_JOB_STATES = frozenset({"completed", "complete", "failed", "cancelled", "canceled"})

#: Which client archives a job, by event type (the route names a source of the service).
HOVER = "hover"
BENTLEY_V1 = "bentley-v1"
BENTLEY_V2 = "bentley-v2"
BENTLEY_ANALYSIS = "bentley-analysis"
#: The Bentley event types the service archives a job for, and their routes.
BENTLEY_ROUTES = {
    "realityModeling.jobCompleted.v2": BENTLEY_V2,
    "realityModeling.jobCompleted.v1": BENTLEY_V1,
    "realityAnalysis.jobCompleted.v1": BENTLEY_ANALYSIS,
}
_BENTLEY_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


@dataclass(frozen=True)
class Intent:
    """A verified event as the service acts on it: the job, the delivery's message id, and
    whether it asks for an archive (``False``: the job is not complete yet, only noted)."""

    provider: str
    route: str
    job_id: str
    message_id: str
    event_type: str
    archive: bool


def _body_id(provider: str, body: bytes) -> str:
    return f"{provider}:sha256:{hashlib.sha256(body).hexdigest()}"


def _hover_message_id(body: bytes) -> str:
    """The event's ``id`` if its body has one, else the body's sha256 (a retried delivery
    carries the same body)."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        data = None
    ident = data.get("id") if isinstance(data, dict) else None
    if isinstance(ident, (str, int)) and not isinstance(ident, bool) and str(ident):
        return f"hover:{str(ident)[:200]}"
    return _body_id(HOVER, body)


def hover_intent(event: HoverEvent, body: bytes) -> Intent | None:
    """The intent of a Hover job or model event; ``None`` for any other event.

    Only the job's own event in a final state asks for an archive: a model that is complete
    says nothing of the job's other models (Hover posts ``job-state-changed`` once they all
    are), so model events are noted.
    """
    if isinstance(event, JobStateChanged):
        archive = event.state in HOVER_FINAL_JOB_STATES
    elif isinstance(event, (ModelStateChanged, ModelCreated)):
        archive = False
    else:
        return None
    if not 1 <= event.job_id <= LARGEST_JOB_ID:
        raise MalformedEvent(f"Hover webhook: job_id {event.job_id} is not a Hover job id")
    return Intent(HOVER, HOVER, str(event.job_id), _hover_message_id(body), event.event, archive)


def route_of(provider: str, event_type: str) -> str:
    """The route of a journaled job, by its provider and its event's type (Reality Modeling
    v2 for a Bentley type the service does not know)."""
    return HOVER if provider == HOVER else BENTLEY_ROUTES.get(event_type, BENTLEY_V2)


def bentley_intent(event: BentleyEvent, body: bytes) -> Intent | None:
    """The intent of a Bentley job-completed event; ``None`` for any other event (Reality
    Conversion's included: no client of this package reads its jobs)."""
    route = BENTLEY_ROUTES.get(event.event_type)
    if route is None:
        return None
    job_id = event.content.job_id
    if not _BENTLEY_JOB_ID.fullmatch(job_id):
        shown = job_id[:40].encode("unicode_escape").decode("ascii")
        raise MalformedEvent(
            f"Bentley webhook: jobId {shown!r}{'...' if len(job_id) > 40 else ''} is not a job id"
            " (letters, digits, '-' and '_', at most 128)"
        )
    message_id = f"bentley:{event.message_id}" if event.message_id else _body_id("bentley", body)
    return Intent("bentley", route, job_id, message_id, event.event_type, True)
