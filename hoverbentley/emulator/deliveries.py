"""Webhook deliveries: signed POSTs to registered URLs, retried with back-off, with faults.

Each webhook has a lane: its events go out in order (``WebhookConfig.concurrency`` at a
time), each tried up to ``attempts`` times with back-off on a non-2xx answer or a failed
connection. Every attempt is logged (:attr:`WebhookSender.log`). Faults, scripted
(:meth:`WebhookSender.script`) or drawn (``WebhookConfig.faults``), change one event each:

- ``duplicate``: the event is delivered twice (same body, same message id);
- ``reorder``: it goes out after the next event of its webhook;
- ``hold``: it waits until :meth:`WebhookSender.release`;
- ``bad-signature``: its first attempt is signed with another secret (a rotated one), the
  attempts after it correctly.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import secrets
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

import aiohttp

from .config import DELIVERY_FAULTS, WebhookConfig
from .signing import bentley_headers, hover_headers

Provider = Literal["hover", "bentley"]
DeliveryFault = Literal["duplicate", "reorder", "hold", "bad-signature"]


@dataclass(frozen=True)
class Target:
    """Where an event goes: a webhook's id, URL and secret as they were when it was sent."""

    provider: Provider
    webhook_id: str
    url: str
    secret: str = field(repr=False)


@dataclass
class _Event:
    number: int
    target: Target
    event_type: str
    body: bytes
    job_id: str | None
    faults: frozenset[str]
    copy: int = 1
    reordered: bool = False


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of an event to a webhook, and how it went.

    ``event`` numbers the events in the order they were sent (a duplicate keeps its number,
    ``copy`` 2); ``status`` is the answer's, ``None`` when no answer came (``error`` says why).
    """

    event: int
    provider: Provider
    webhook_id: str
    url: str
    event_type: str
    job_id: str | None
    attempt: int
    copy: int
    status: int | None
    error: str | None
    #: ``False`` for an attempt deliberately signed with the wrong secret.
    signed: bool
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)

    @property
    def ok(self) -> bool:
        """Whether the webhook answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Lane:
    queue: deque[_Event] = field(default_factory=deque)
    deferred: list[_Event] = field(default_factory=list)
    workers: set[asyncio.Task[None]] = field(default_factory=set)


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class WebhookSender:
    """Delivers events to webhooks and logs every attempt (see the module's description)."""

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        #: Every attempt, in the order they ended.
        self.log: list[DeliveryAttempt] = []
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._held: list[_Event] = []
        self._scripts: deque[tuple[str, DeliveryFault]] = deque()
        self._rng = random.Random(config.seed)
        self._numbers = 0
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Open the HTTP session the deliveries use; send what was queued before."""
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self.config.timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        self._loop = asyncio.get_running_loop()
        for key, lane in self._lanes.items():
            self._spawn(key, lane)

    async def stop(self) -> None:
        """Drop what is queued or held and close the session."""
        workers = [t for lane in self._lanes.values() for t in lane.workers]
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._lanes.clear()
        self._held.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._loop = None

    # -- what tests use -------------------------------------------------------------------

    def script(self, *faults: DeliveryFault, match: str = "") -> None:
        """Give the next events whose type contains ``match`` these faults, one each."""
        unknown = [f for f in faults if f not in DELIVERY_FAULTS]
        if unknown:
            raise ValueError(f"unknown delivery faults {unknown}; known: {DELIVERY_FAULTS}")
        self._scripts.extend((match, f) for f in faults)

    def release(self) -> int:
        """Send the held events, and those waiting to be reordered; how many there were."""
        released = len(self._held)
        for event in self._held:
            self._queue(event)
        self._held.clear()
        for key, lane in self._lanes.items():
            if lane.deferred:
                released += len(lane.deferred)
                lane.queue.extend(lane.deferred)
                lane.deferred.clear()
                self._spawn(key, lane)
        return released

    @property
    def held(self) -> int:
        """Events held (``hold``) or waiting for a next event to overtake them (``reorder``)."""
        return len(self._held) + sum(len(lane.deferred) for lane in self._lanes.values())

    async def settled(self) -> None:
        """Wait until no event is queued or being delivered (held ones aside)."""
        while True:
            workers = [t for lane in self._lanes.values() for t in lane.workers]
            if not workers:
                return
            await asyncio.wait(workers)

    def attempts(self, *, job_id: str | None = None, event_type: str = "") -> list[DeliveryAttempt]:
        """The logged attempts of one job's events (all when ``None``) whose type contains
        ``event_type``."""
        return [
            a
            for a in self.log
            if (job_id is None or a.job_id == job_id) and event_type in a.event_type
        ]

    # -- sending --------------------------------------------------------------------------

    def send(self, target: Target, event_type: str, body: bytes, job_id: str | None) -> None:
        """Deliver ``body`` to ``target`` (from any thread; sent once the emulator runs)."""
        loop = self._loop
        if loop is not None and _running_loop() is not loop:
            loop.call_soon_threadsafe(self._accept, target, event_type, body, job_id)
        else:
            self._accept(target, event_type, body, job_id)

    def _accept(self, target: Target, event_type: str, body: bytes, job_id: str | None) -> None:
        self._numbers += 1
        event = _Event(self._numbers, target, event_type, body, job_id, self._faults(event_type))
        if "hold" in event.faults:
            self._held.append(event)
        else:
            self._queue(event)

    def _faults(self, event_type: str) -> frozenset[str]:
        chosen: set[str] = set()
        for entry in self._scripts:
            if entry[0] in event_type:
                self._scripts.remove(entry)
                chosen.add(entry[1])
                break
        for name, share in self.config.faults.items():
            if self._rng.random() < share:
                chosen.add(name)
        return frozenset(chosen)

    def _queue(self, event: _Event) -> None:
        key = (event.target.provider, event.target.webhook_id)
        lane = self._lanes.setdefault(key, _Lane())
        lane.queue.append(event)
        if "duplicate" in event.faults and event.copy == 1:
            copy = replace(event, copy=2, faults=event.faults - {"reorder"})
            lane.queue.append(copy)
        self._spawn(key, lane)

    def _spawn(self, key: tuple[str, str], lane: _Lane) -> None:
        if self._loop is None:
            return  # sent at start
        while len(lane.workers) < self.config.concurrency and len(lane.workers) < len(lane.queue):
            task = self._loop.create_task(self._work(lane))
            lane.workers.add(task)
            task.add_done_callback(lane.workers.discard)

    async def _work(self, lane: _Lane) -> None:
        while lane.queue:
            event = lane.queue.popleft()
            if "reorder" in event.faults and not event.reordered:
                event.reordered = True
                lane.deferred.append(event)
                continue
            if lane.deferred:
                # This event overtakes the deferred ones; they follow it.
                lane.queue.extendleft(reversed(lane.deferred))
                lane.deferred.clear()
            await self._deliver(event)

    async def _deliver(self, event: _Event) -> None:
        config = self.config
        target = event.target
        if config.loopback_only and not _loopback(target.url):
            self._record(event, 1, None, "not sent: the host is not on loopback", True, {})
            return
        for attempt in range(1, config.attempts + 1):
            forged = attempt == 1 and "bad-signature" in event.faults
            secret = secrets.token_urlsafe(48) if forged else target.secret
            headers = self._headers(event, secret)
            status, error = await self._post(target.url, event.body, headers)
            self._record(event, attempt, status, error, not forged, headers)
            if status is not None and 200 <= status < 300:
                return
            if attempt < config.attempts:
                await asyncio.sleep(config.backoff * config.backoff_factor ** (attempt - 1))

    def _headers(self, event: _Event, secret: str) -> dict[str, str]:
        if event.target.provider == "hover":
            scheme = self.config.hover_scheme
            return hover_headers(event.body, secret=secret, url=event.target.url, scheme=scheme)
        return bentley_headers(event.body, secret=secret)

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        assert self._session is not None, "the sender is not started"
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status, None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def _record(
        self,
        event: _Event,
        attempt: int,
        status: int | None,
        error: str | None,
        signed: bool,
        headers: dict[str, str],
    ) -> None:
        target = event.target
        self.log.append(
            DeliveryAttempt(
                event=event.number,
                provider=target.provider,
                webhook_id=target.webhook_id,
                url=target.url,
                event_type=event.event_type,
                job_id=event.job_id,
                attempt=attempt,
                copy=event.copy,
                status=status,
                error=error,
                signed=signed,
                body=event.body,
                headers=headers,
            )
        )
