"""What every emulated host shares: its application, recorded requests and injected faults."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .faults import Fault, FaultPlan
from .recording import RecordedRequest, record_of, recording_middleware
from .respond import ANSWER_FAULTS, BodyFaults, fault_answer, json_response, stream_body

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Check = Callable[[web.Request], web.StreamResponse | None]
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

    async def damage(
        self, request: web.Request, response: web.StreamResponse, fault: Fault | None
    ) -> web.StreamResponse:
        """``response`` with ``fault`` applied to its body (a ``reset`` mid-body, say)."""
        if fault is None or not isinstance(response, web.Response):
            return response
        body = response.body
        if not isinstance(body, bytes):
            return response
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        damaged = web.StreamResponse(status=response.status, headers=headers)
        return await stream_body(
            request, damaged, [body], len(body), fault, self.body_faults(request)
        )

    def wrap(self, handler: Handler, check: Check | None = None) -> Handler:
        """``handler`` with this host's faults: an injected answer in its place, or its
        answer damaged; ``check`` (authorization, say) may answer first."""

        async def wrapper(request: web.Request) -> web.StreamResponse:
            answer, fault = await self.misbehave(request)
            if answer is not None:
                return answer
            early = check(request) if check is not None else None
            if early is not None:
                return await self.damage(request, early, fault)
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                if fault is None:
                    raise
                response = web.Response(status=exc.status, headers=exc.headers, text=exc.text)
            return await self.damage(request, response, fault)

        return wrapper

    def body_faults(self, request: web.Request) -> BodyFaults:
        """How this host damages a body: pauses of ``slow``, length and count of ``stall``."""
        config = self.faults.config_for(self.name, self.port)

        async def stall(seconds: float) -> None:
            self.faults.counters.stalls[self.name] += 1
            transport = request.transport

            def gone() -> bool:
                return transport is None or transport.is_closing()

            await self.faults.sleep(seconds, gone)

        return BodyFaults(config.slow_delay, config.stall_after, config.stall_seconds, stall)


def host_app(
    port: str,
    log: list[RecordedRequest],
    faults: FaultPlan,
    name_of: Callable[[web.Request], str] | None = None,
) -> web.Application:
    """An application that records every request under ``port`` and honours outages.

    ``name_of`` names the host a request is for (``tokens`` on the Hover port, say).
    """

    @web.middleware
    async def outage(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = name_of(request) if name_of else port
        refused = faults.outages.check((name, port))
        if refused is None:
            return await handler(request)
        host, mode = refused
        faults.counters.outage_rejections[host] += 1
        entry = record_of(request)
        if entry is not None:
            entry.fault = f"outage-{mode}"
        if mode == "503":
            return json_response({"error": "Service Unavailable (outage)"}, status=503)
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # the connection is gone

    return web.Application(middlewares=[recording_middleware(port, log), outage])


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
