"""The decision taken after each attempt of a request (pure functions).

The transport sends, describes what happened as an :class:`Outcome`, and does what
:func:`decide` says: hand the response over, renew the credentials, wait and try again, or
give up. Every rule about retries, budgets and credentials lives here.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .retry import RetryPolicy


class Action(enum.Enum):
    """What the transport does next."""

    DONE = "done"
    REFRESH = "refresh"
    RETRY = "retry"
    RAISE = "raise"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to, at the host (``origin``) where it ended.

    ``status`` is ``None`` when the connection failed; ``sent`` then says whether the request
    may have reached the server. ``host_down`` says the host is now held as down (an outage),
    so waiting for it spends no retry budget.
    """

    origin: str
    status: int | None = None
    sent: bool = True
    retry_after: str | None = None
    on_api: bool = False
    credential_sent: bool = False
    host_down: bool = False


@dataclass(frozen=True)
class Budget:
    """What one request has spent: retries per host, a credential renewal, since ``started``."""

    started: float
    retries: Mapping[str, int] = field(default_factory=dict)
    refreshed: bool = False

    def spend(self, origin: str) -> Budget:
        """This budget with one more retry at ``origin``."""
        return replace(self, retries={**self.retries, origin: self.retries.get(origin, 0) + 1})


@dataclass(frozen=True)
class Decision:
    """The next step; ``rate_limited`` asks to hold every request to the API back by ``delay``."""

    action: Action
    delay: float = 0.0
    rate_limited: bool = False
    spends: bool = True


def decide(
    method: str,
    outcome: Outcome,
    budget: Budget,
    policy: RetryPolicy,
    *,
    now: float,
    wall_time: float,
    can_refresh: bool,
    repeatable: bool = False,
    rng: random.Random | None = None,
) -> Decision:
    """The next step after ``outcome``; ``now`` is monotonic, ``wall_time`` epoch seconds;
    ``repeatable``: the request may be sent again whatever its method."""
    status = outcome.status
    if status is not None and status < 300:
        return Decision(Action.DONE)
    if status == 401 and outcome.credential_sent and can_refresh and not budget.refreshed:
        return Decision(Action.REFRESH)
    if status is None:
        retryable = policy.retry_error(method, sent=outcome.sent, repeatable=repeatable)
    else:
        retryable = policy.retry_status(method, status, repeatable=repeatable)
    if not retryable:
        return Decision(Action.RAISE)
    if outcome.host_down and (status is None or status >= 500):
        return Decision(Action.RETRY, spends=False)
    attempt = budget.retries.get(outcome.origin, 0)
    if not policy.can_retry(attempt):
        return Decision(Action.RAISE)
    delay = policy.delay(attempt, outcome.retry_after, now=wall_time, rng=rng)
    if now - budget.started + delay > policy.retry_for:
        return Decision(Action.RAISE)
    return Decision(Action.RETRY, delay, rate_limited=status == 429 and outcome.on_api)
