"""What every emulated host shares: its application, recorded requests and injected faults."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .faults import Fault, FaultPlan
from .recording import RecordedRequest, recording_middleware
from .respond import ANSWER_FAULTS, fault_answer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Guard = Callable[[web.Request], Awaitable[web.StreamResponse | None]]
ErrorBody = Callable[[int], Any]


@dataclass
class Host:
    """One emulated service: its name for faults, how it words an error, its fixed latency.

    ``name`` is one of ``hover``, ``bentley``, ``reality``, ``tokens``, ``storage``, ``blob``;
    ``port`` is the listening host it lives on (``hover``, ``storage``, ``bentley``, ``blob``).
    """

    name: str
    port: str
    faults: FaultPlan
    error_body: ErrorBody
    latency: Callable[[], float] = lambda: 0.0

    async def misbehave(
        self, request: web.Request
    ) -> tuple[web.StreamResponse | None, Fault | None]:
        """Wait any latency, then pick this request's fault.

        Returns the answer that replaces the normal one, or the fault to apply to the body.
        """
        faults = self.faults
        delay = self.latency() + faults.latency(self.name, self.port)
        if delay:
            await faults.sleep(delay)
        fault = faults.pick(self.name, self.port, request)
        if fault in ANSWER_FAULTS:
            assert fault is not None
            config = faults.config_for(self.name, self.port)
            answer = await fault_answer(
                request, fault, config.retry_after_seconds, self.error_body, faults
            )
            return answer, None
        return None, fault

    async def fault_only(self, request: web.Request) -> web.StreamResponse | None:
        """The fault answer of ``request``, if any (body faults do not apply)."""
        answer, _ = await self.misbehave(request)
        return answer

    def guard(self, check: Callable[[web.Request], web.StreamResponse | None]) -> Guard:
        """A guard that injects this host's faults, then applies ``check``."""

        async def guard(request: web.Request) -> web.StreamResponse | None:
            return await self.fault_only(request) or check(request)

        return guard


def guarded(guard: Guard, handler: Handler) -> Handler:
    """``handler`` behind ``guard``: a non-``None`` answer from the guard is final."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        early = await guard(request)
        return early if early is not None else await handler(request)

    return wrapper


def host_app(port: str, log: list[RecordedRequest]) -> web.Application:
    """An application that records every request under ``port``."""
    return web.Application(middlewares=[recording_middleware(port, log)])


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
