"""Which hosts answer: outages noticed, requests held while a host is down, one probe at a time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import anyio

from ..errors import HostUnavailableError

logger = logging.getLogger("hoverbentley")

#: Failures in a row (no answer between them, across all requests) that mark a host down.
DOWN_AFTER = 8
#: Seconds a request may wait for its response before progress and ``-v`` say so.
SLOW_ANSWER = 5.0


@dataclass
class _Host:
    answered: bool = False
    failures: int = 0
    down_since: float | None = None
    probe_at: float = 0.0
    probes: int = 0
    probing: bool = False
    changed: anyio.Event = field(default_factory=anyio.Event)

    def wake(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()


class HostHealth:
    """Outage handling for the hosts one transport talks to.

    A host whose requests fail :data:`DOWN_AFTER` times in a row (refused or reset
    connections, or 5xx) is held as down: new requests to it wait in :meth:`admit` instead of
    spending their retries, while one request at a time probes it with capped back-off. The
    first answer ends the outage. After ``max_outage`` seconds down, requests to the host fail
    with :class:`HostUnavailableError`.
    """

    def __init__(
        self,
        max_outage: float,
        *,
        probe_base: float = 0.5,
        probe_max: float = 15.0,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self.max_outage = max_outage
        self._probe_base = probe_base
        self._probe_max = probe_max
        self._clock = clock
        self._hosts: dict[str, _Host] = {}
        #: Seconds of outages that are over, per host.
        self.past_outages: dict[str, float] = {}
        #: When each request sent to a host and not answered yet was sent, per host.
        self._sent: dict[str, list[float]] = {}

    def _host(self, origin: str) -> _Host:
        host = self._hosts.get(origin)
        if host is None:
            host = self._hosts[origin] = _Host()
        return host

    def first_contact(self, origin: str) -> bool:
        """Whether ``origin`` has never answered this transport."""
        return not self._host(origin).answered

    def is_down(self, origin: str) -> bool:
        """Whether ``origin`` is held as down now."""
        host = self._hosts.get(origin)
        return host is not None and host.down_since is not None

    def down_now(self) -> dict[str, float]:
        """The hosts down now, with how long (seconds) each has been down."""
        now = self._clock()
        return {o: now - h.down_since for o, h in self._hosts.items() if h.down_since is not None}

    @contextmanager
    def awaiting(self, origin: str) -> Iterator[float]:
        """Around a request sent to ``origin`` until its response (or failure) comes; yields
        when it was sent."""
        sent = self._clock()
        waits = self._sent.setdefault(origin, [])
        waits.append(sent)
        try:
            yield sent
        finally:
            waits.remove(sent)

    def awaiting_response(self, longer_than: float = SLOW_ANSWER) -> dict[str, float]:
        """The hosts with a request sent more than ``longer_than`` seconds ago and not
        answered yet, with how long the oldest has waited."""
        now = self._clock()
        oldest = {o: now - min(w) for o, w in self._sent.items() if w}
        return {o: waited for o, waited in oldest.items() if waited >= longer_than}

    def waited(self) -> float:
        """Seconds spent in outages so far (those still going on included)."""
        return sum(self.past_outages.values()) + sum(self.down_now().values())

    async def admit(self, origin: str, url: str) -> None:
        """Return when a request to ``origin`` may be sent (at once, unless it is down)."""
        while True:
            host = self._hosts.get(origin)
            if host is None or host.down_since is None:
                return
            now = self._clock()
            down_for = now - host.down_since
            if down_for > self.max_outage:
                raise HostUnavailableError(
                    f"{origin} has not answered for {down_for:.0f} s (the limit is"
                    f" {self.max_outage:.0f} s); run the same command again once it is back",
                    url=url,
                    host=origin,
                    down_for=down_for,
                )
            if not host.probing:
                host.probing = True
                try:
                    await anyio.sleep(max(0.0, host.probe_at - now))
                except BaseException:
                    host.probing = False
                    host.wake()
                    raise
                return  # this request is the probe
            with anyio.move_on_after(max(1.0, self.max_outage - down_for + 0.01)):
                await host.changed.wait()

    def answered(self, origin: str) -> None:
        """A response came from ``origin`` (any status below 500): it is up."""
        host = self._host(origin)
        host.answered = True
        host.failures = 0
        if host.down_since is not None:
            lasted = self._clock() - host.down_since
            self.past_outages[origin] = self.past_outages.get(origin, 0.0) + lasted
            logger.warning("%s answers again after %.0f s", origin, lasted)
            host.down_since = None
            host.probing = False
            host.probes = 0
            host.wake()

    def failed(self, origin: str) -> None:
        """A request to ``origin`` failed (connection refused or reset, or 5xx)."""
        host = self._host(origin)
        host.failures += 1
        now = self._clock()
        if host.down_since is not None:
            if host.probing:
                host.probing = False
                host.probes += 1
                host.probe_at = now + min(self._probe_max, self._probe_base * 2**host.probes)
                host.wake()
            return
        if host.failures >= DOWN_AFTER:
            host.down_since = now
            host.probe_at = now + self._probe_base
            logger.warning("%s is not answering: holding its requests until it is back", origin)
