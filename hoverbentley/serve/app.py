"""The service as an ``aiohttp.web.Application``: webhook endpoints, probes and metrics.

:func:`create_app` makes an application that runs alone or mounted in another
(``parent.add_subapp("/archive", app)``): its journal is opened and its archiver started when
the application starts, and drained when it stops. Routes:

- ``POST /hooks/hover`` and ``POST /hooks/bentley``: a delivery is verified with the library's
  verifiers, journaled (appended and fsynced) and queued, then answered ``202``;
- ``GET /healthz`` (alive), ``GET /readyz`` (journal writable and destination reachable,
  not draining), ``GET /metrics`` (Prometheus text).

Answers: ``401`` bad signature, stale ``Date`` (a Bentley ``enqueuedDateTime`` outside
``bentley_tolerance``) or another webhook's secret (nothing queued);
``400`` a malformed body or a job id that is not one; ``413`` a body over the limit (refused
before it is read whole); ``202`` an event type not acted on (logged); ``200`` a delivery
already journaled (not queued again); ``503`` with ``Retry-After`` when the queue is at its
bound, the journal cannot be written, or the service is draining: the provider's retry
brings the event back. No log line holds a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import anyio
from aiohttp import web

from ..bentley.webhook_events import bentley_event_from_http
from ..errors import (
    HoverBentleyError,
    InvalidSignature,
    MalformedEvent,
    StaleEvent,
    WebhookError,
)
from ..hover.webhook_events import (
    DEFAULT_TOLERANCE,
    WebhookVerificationCode,
    hover_event_from_http,
)
from ..stores import is_local, open_store, parse_location
from .archiver import Archiver, ArchiverSettings, SourceFactory, Sweep
from .events import Intent, bentley_intent, hover_intent
from .journal import DEDUP_WINDOW, Event, JobKey, Journal, JournalUnavailable
from .metrics import CONTENT_TYPE, ServeMetrics
from .queue import JobQueue
from .statedir import StateDirLock

logger = logging.getLogger("hoverbentley.serve")

#: Events are a few hundred bytes: a larger body is refused with 413 before it is read whole.
MAX_BODY_SIZE = 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """What the service needs besides its sources.

    ``state_dir`` holds the journal. ``hover_request_uri`` is the path of the PUBLIC URL the
    Hover webhook was registered with (what Hover signs), not the path this app sees. A
    provider without a secret has no endpoint (404), unless it is ``awaiting`` one: a webhook
    registered once the service listens, whose secret :meth:`Service.set_secret` gives; its
    deliveries wait for it up to ``secret_wait`` seconds (Hover posts the verification code
    as it registers the webhook), then are answered 503.
    """

    out: str
    state_dir: Path
    hover_secret: str | None = field(default=None, repr=False)
    bentley_secret: str | None = field(default=None, repr=False)
    hover_request_uri: str = "/hooks/hover"
    tolerance: timedelta = DEFAULT_TOLERANCE
    #: How old (or how far ahead) a Bentley event's ``enqueuedDateTime`` may be. Bentley signs
    #: the body only, and a retry carries the event as it was enqueued: the journal's dedup
    #: window, so a replayed delivery is either recognised by its message id or refused 401.
    bentley_tolerance: timedelta | None = timedelta(seconds=DEDUP_WINDOW)
    queue_size: int = 1000
    max_body_size: int = MAX_BODY_SIZE
    drain_timeout: float = 30.0
    retry_after: int = 30
    archiver: ArchiverSettings = field(default_factory=ArchiverSettings)
    awaiting: frozenset[str] = frozenset()
    secret_wait: float = 30.0

    def secret(self, provider: str) -> str | None:
        """The webhook secret of ``provider`` (``"hover"`` or ``"bentley"``)."""
        return self.hover_secret if provider == "hover" else self.bentley_secret

    def served(self) -> list[str]:
        """The providers with an endpoint."""
        return [p for p in ("hover", "bentley") if self.secret(p) is not None or p in self.awaiting]


#: Called with the code of Hover's ``webhook-verification-code`` event.
OnVerificationCode = Callable[[str], Awaitable[None]]
#: Whether the archive's destination answers (``readyz``).
Probe = Callable[[], Awaitable[bool]]


class ArchiverStopped(HoverBentleyError):
    """The archiver is not running (not started, stopped, or ended by an error, its
    ``__cause__``): the jobs still waiting will not be archived by this process."""


class Service:
    """The journal, the queue, the archiver and the metrics of one application."""

    def __init__(
        self,
        settings: ServeSettings,
        sources: Mapping[str, SourceFactory],
        *,
        sweep: Sweep | None = None,
        on_verification_code: OnVerificationCode | None = None,
        probe: Probe | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.settings = settings
        self.sources = sources
        self.metrics = ServeMetrics()
        self.journal = journal or Journal(settings.state_dir)
        self.state_lock = StateDirLock(settings.state_dir)
        self.queue: JobQueue[JobKey] = JobQueue(settings.queue_size, on_depth=self.metrics.depth)
        self.archiver = Archiver(
            settings.out,
            self.journal,
            self.queue,
            self.metrics,
            sources,
            settings.archiver,
            sweep=sweep,
        )
        self.on_verification_code = on_verification_code
        self.probe = probe or destination_probe(settings.out)
        self.draining = False
        #: Hover's verification codes received (for ``--register`` and the log).
        self.verification_codes: list[str] = []
        self._admit = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._secret_set = {p: asyncio.Event() for p in settings.awaiting}

    def set_secret(self, provider: str, secret: str) -> None:
        """Give the secret of an ``awaiting`` provider: its deliveries are verified with it."""
        if provider not in self._secret_set:
            raise ValueError(f"{provider} is not awaiting a secret")
        if provider == "hover":
            self.settings = replace(self.settings, hover_secret=secret)
        else:
            self.settings = replace(self.settings, bentley_secret=secret)
        self._secret_set[provider].set()

    async def secret(self, provider: str) -> str | None:
        """The secret to verify ``provider``'s deliveries with, waited for while it is
        awaited (``None``: still unknown after ``secret_wait`` seconds)."""
        secret = self.settings.secret(provider)
        if secret is None and provider in self._secret_set:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._secret_set[provider].wait(), self.settings.secret_wait)
            secret = self.settings.secret(provider)
        return secret

    async def start(self) -> None:
        """Lock the state directory (:class:`~.statedir.StateDirLocked` when another process
        holds it), open the journal, queue what it holds pending, and start the archiver."""
        await anyio.to_thread.run_sync(self._open)
        pending = self.journal.pending_jobs()
        now = self.journal.clock()
        waiting = 0
        for key in pending:
            retry = self.journal.retry(key)
            if retry is None:
                self.queue.put(key, force=True)
                continue
            # Its attempts go on counting, after what is left of its pause.
            waiting += retry.due > now
            self.archiver.resume(key, retry.failures, retry.due - now)
        if pending:
            logger.info(
                "journal: %d jobs pending from before, queued again (%d after a pause)",
                len(pending),
                waiting,
            )
        self._task = asyncio.get_running_loop().create_task(self.archiver.run())

    def _open(self) -> None:
        self.state_lock.acquire()
        try:
            self.journal.open()
        except BaseException:
            self.state_lock.release()
            raise

    async def drain(self, limit: float | None = None) -> None:
        """Stop accepting, let the run under way finish for up to ``limit`` seconds (the
        settings' ``drain_timeout`` by default), cut it short after that (its files are kept
        for the next start to resume), close the journal and let the state directory go."""
        self.draining = True
        self.archiver.stop()
        task, self._task = self._task, None
        if task is not None:
            limit = self.settings.drain_timeout if limit is None else limit
            done, _ = await asyncio.wait({task}, timeout=limit)
            if not done:
                logger.warning("drain: the run under way was stopped after %.0f s", limit)
                task.cancel()
            # The archiver's own failure is logged here: the journal is closed and the
            # directory let go whatever became of it.
            (outcome,) = await asyncio.gather(task, return_exceptions=True)
            if isinstance(outcome, Exception):
                logger.error("the archiver stopped: %s", outcome)
        try:
            self.journal.close()
        finally:
            self.state_lock.release()

    async def settled(self) -> None:
        """Return once no job is waiting, being archived, or pending in the journal with a
        source here; :class:`ArchiverStopped` if the archiver stops first, with jobs left."""
        while self._unsettled():
            task = self._task
            if task is None or task.done():
                left = len(self.journal.pending_jobs())
                error = None if task is None or task.cancelled() else task.exception()
                why = f": {error}" if error is not None else ""
                raise ArchiverStopped(
                    f"the archiver is not running{why} ({left} jobs left pending)"
                ) from error
            ran = asyncio.ensure_future(self.archiver.next_run().wait())
            try:
                await asyncio.wait({ran, task}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                ran.cancel()

    def _unsettled(self) -> bool:
        if self.queue.depth or self.queue.running():
            return True
        return any(self.archiver.serves(key) for key in self.journal.pending_jobs())

    async def ready(self) -> tuple[bool, str]:
        """Whether the service takes events, and why not."""
        if self.draining:
            return False, "draining"
        if self._task is not None and self._task.done():
            return False, "the archiver stopped"
        if not self.journal.writable():
            return False, "journal not writable"
        try:
            reachable = await self.probe()
        except Exception as exc:
            return False, f"destination not reachable: {type(exc).__name__}"
        return (True, "ready") if reachable else (False, "destination not reachable")

    async def admit(self, intent: Intent) -> web.Response:
        """Journal and queue a verified event (the status of the answer)."""
        m = self.metrics
        key = JobKey(intent.provider, intent.job_id)
        async with self._admit:  # the bound checked and the append made as one step
            if self.journal.seen(intent.message_id):
                m.events_rejected.labels(intent.provider, "duplicate").inc()
                return web.json_response({"status": "duplicate"}, status=200)
            if intent.archive and not self.queue.admits(key):
                m.events_rejected.labels(intent.provider, "queue_full").inc()
                return self._retry_later("queue full")
            event = Event(
                message_id=intent.message_id,
                provider=intent.provider,
                job_id=intent.job_id,
                received=time.time(),
                event_type=intent.event_type,
                archive=intent.archive,
            )
            try:
                await self.journal.accept(event)
            except JournalUnavailable as exc:
                m.events_rejected.labels(intent.provider, "journal").inc()
                logger.error("event refused (503): %s", exc)
                return self._retry_later("journal unavailable")
            m.events_accepted.labels(intent.provider).inc()
            if intent.archive:
                # The bound was checked above; a failed run queued again while the append
                # waited may have filled the queue since, and a journaled event is queued.
                self.archiver.renewed(key)
                self.queue.put(key, force=True)
        return web.json_response({"status": "accepted" if intent.archive else "noted"}, status=202)

    def _retry_later(self, why: str) -> web.Response:
        return web.json_response(
            {"status": "retry later", "reason": why},
            status=503,
            headers={"Retry-After": str(self.settings.retry_after)},
        )


def destination_probe(out: str) -> Probe:
    """Whether ``out`` answers: a local directory (or its parent, before the first archive)
    is writable, a store answers a ``stat``."""
    if is_local(out):
        local = Path(parse_location(out).prefix)

        def writable() -> bool:
            target = local if local.exists() else local.parent
            return os.access(target, os.W_OK)

        async def probe_local() -> bool:
            return await anyio.to_thread.run_sync(writable)

        return probe_local
    store = open_store(out)

    async def probe() -> bool:
        await store.stat("manifest.jsonl")
        return True

    return probe


SERVICE = web.AppKey("hoverbentley_service", Service)


class _TooLarge(Exception):
    pass


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The request's body, or :class:`_TooLarge` as soon as it is known to pass ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _refused(
    service: Service, provider: str, reason: str, status: int, message: str
) -> web.Response:
    service.metrics.events_rejected.labels(provider, reason).inc()
    logger.warning("%s delivery refused (%d): %s", provider, status, message)
    return web.json_response({"error": message}, status=status)


_REASONS: dict[type[WebhookError], tuple[str, int]] = {
    InvalidSignature: ("signature", 401),
    StaleEvent: ("stale", 401),
    MalformedEvent: ("malformed", 400),
}


async def _hook(request: web.Request, provider: str) -> web.Response:
    service = request.app[SERVICE]
    settings = service.settings
    service.metrics.events_received.labels(provider).inc()
    if service.draining:
        service.metrics.events_rejected.labels(provider, "draining").inc()
        return service._retry_later("draining")
    try:
        body = await _read_body(request, settings.max_body_size)
    except _TooLarge:
        limit = settings.max_body_size
        return _refused(service, provider, "too_large", 413, f"body over {limit} bytes")
    secret = await service.secret(provider)
    if secret is None:
        service.metrics.events_rejected.labels(provider, "no_secret").inc()
        return service._retry_later("the webhook is not registered yet")
    try:
        if provider == "hover":
            event = hover_event_from_http(
                request.headers,
                body,
                secret=secret,
                request_uri=settings.hover_request_uri,
                tolerance=settings.tolerance,
            )
            if isinstance(event, WebhookVerificationCode):
                return await _verification_code(service, event.code)
            intent = hover_intent(event, body)
        else:
            bentley = bentley_event_from_http(
                request.headers, body, secret=secret, tolerance=settings.bentley_tolerance
            )
            intent = bentley_intent(bentley, body)
            event_type = bentley.event_type
    except WebhookError as exc:
        reason, status = next(v for k, v in _REASONS.items() if isinstance(exc, k))
        return _refused(service, provider, reason, status, str(exc))
    if intent is None or intent.route not in service.sources:
        kind = event.event if provider == "hover" else event_type
        service.metrics.events_rejected.labels(provider, "ignored").inc()
        logger.info("%s event %r: not acted on here (202)", provider, kind[:100])
        return web.json_response({"status": "ignored"}, status=202)
    return await service.admit(intent)


async def _verification_code(service: Service, code: str) -> web.Response:
    service.verification_codes.append(code)
    if service.on_verification_code is not None:
        await service.on_verification_code(code)
    else:
        logger.warning(
            "Hover webhook verification code received: confirm it with"
            " hoverbentley hover webhooks verify %s (serve --register confirms it itself)",
            shlex.quote(code),
        )
    return web.json_response({"status": "verification code received"}, status=200)


async def _hover(request: web.Request) -> web.Response:
    return await _hook(request, "hover")


async def _bentley(request: web.Request) -> web.Response:
    return await _hook(request, "bentley")


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def _readyz(request: web.Request) -> web.Response:
    ready, why = await request.app[SERVICE].ready()
    return web.json_response({"status": why}, status=200 if ready else 503)


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[SERVICE].metrics.text()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def create_app(
    settings: ServeSettings,
    sources: Mapping[str, SourceFactory],
    *,
    sweep: Sweep | None = None,
    on_verification_code: OnVerificationCode | None = None,
    probe: Probe | None = None,
    journal: Journal | None = None,
) -> web.Application:
    """The service's application (see the module). ``sources`` maps a route (``"hover"``,
    ``"bentley-v2"``, ``"bentley-v1"``, ``"bentley-analysis"``) to a factory of an archive
    source of given job ids; the clients behind them are the caller's, open while the
    application runs (one session and one rate limit for the whole service)."""
    if not settings.served():
        raise ValueError("the service needs a Hover or a Bentley webhook secret")
    app = web.Application(client_max_size=settings.max_body_size)
    service = Service(
        settings,
        sources,
        sweep=sweep,
        on_verification_code=on_verification_code,
        probe=probe,
        journal=journal,
    )
    app[SERVICE] = service
    served = settings.served()
    if "hover" in served:
        app.router.add_post("/hooks/hover", _hover)
    if "bentley" in served:
        app.router.add_post("/hooks/bentley", _bentley)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        await service.start()
        yield
        await service.drain()

    app.cleanup_ctx.append(lifetime)
    return app
