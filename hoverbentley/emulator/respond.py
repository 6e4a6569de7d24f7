"""Answers shared by the emulated hosts: JSON, errors, and bodies streamed with faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .faults import Fault, FaultPlan
from .recording import record_of

#: Faults that replace the whole answer; the others damage the body.
ANSWER_FAULTS = frozenset(
    {"500", "503", "429", "429-no-retry-after", "hang", "html200", "junk", "empty"}
)
JUNK_SIZE = 10 * 1024 * 1024


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A compact JSON answer."""
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def note_fault(request: web.Request, fault: Fault) -> None:
    """Record which fault was injected into ``request``."""
    entry = record_of(request)
    if entry is not None:
        entry.fault = fault


async def fault_answer(
    request: web.Request,
    fault: Fault,
    retry_after: float,
    error_body: Callable[[int], Any],
    faults: FaultPlan,
) -> web.StreamResponse:
    """The answer that replaces a normal one for an :data:`ANSWER_FAULTS` fault."""
    note_fault(request, fault)
    if fault == "hang":
        await faults.sleep(3600)
    if fault in ("500", "503"):
        return json_response(error_body(int(fault)), status=int(fault))
    if fault == "429":
        seconds = max(0, round(retry_after))
        return json_response(error_body(429), status=429, headers={"Retry-After": str(seconds)})
    if fault == "429-no-retry-after":
        return json_response(error_body(429), status=429)
    if fault == "html200":
        html = b"<!DOCTYPE html><html><body><h1>Maintenance</h1></body></html>"
        return web.Response(body=html, content_type="text/html")
    if fault == "junk":
        return web.Response(body=b"\x00junk" * (JUNK_SIZE // 5), content_type="application/json")
    return web.Response(body=b"", content_type="application/json")


@dataclass(frozen=True)
class BodyFaults:
    """How a host damages bodies: the pause of ``slow``, where and how long ``stall`` waits."""

    slow_delay: float = 0.05
    stall_after: float = 0.5
    stall_seconds: float = 60.0
    #: Waits out a stall of so many seconds (counting it; ending early if the client left).
    stall: Callable[[float], Awaitable[None]] | None = None


async def stream_body(
    request: web.Request,
    response: web.StreamResponse,
    chunks: Iterable[memoryview | bytes],
    length: int,
    fault: Fault | None,
    damage: BodyFaults | None = None,
) -> web.StreamResponse:
    """Send ``chunks`` (``length`` bytes in all), damaged as ``fault`` says.

    ``reset`` aborts the connection half-way (an RST); ``truncate`` closes it cleanly
    half-way, short of the declared Content-Length; ``stall`` stops sending after part of the
    body with the connection open, then resets it; ``slow`` pauses between small pieces.
    """
    try:
        return await _send(request, response, chunks, length, fault, damage or BodyFaults())
    except ConnectionError:
        # The client went away mid-answer: nothing left to do, and nothing worth logging.
        raise asyncio.CancelledError from None


async def _send(
    request: web.Request,
    response: web.StreamResponse,
    chunks: Iterable[memoryview | bytes],
    length: int,
    fault: Fault | None,
    damage: BodyFaults,
) -> web.StreamResponse:
    response.content_length = length
    await response.prepare(request)
    if fault in ("reset", "truncate", "stall"):
        note_fault(request, fault)
        share = damage.stall_after if fault == "stall" else 0.5
        await _send_part(response, chunks, int(length * share))
        if fault == "stall" and damage.stall is not None:
            await damage.stall(damage.stall_seconds)
        transport = request.transport
        if transport is not None:
            if fault == "truncate":
                transport.close()
            else:
                transport.abort()
        raise asyncio.CancelledError  # the connection is gone: nothing more to send
    if fault == "slow":
        note_fault(request, fault)
        for chunk in chunks:
            view = memoryview(chunk)
            for start in range(0, len(view), 64 * 1024):
                await response.write(view[start : start + 64 * 1024])
                await asyncio.sleep(damage.slow_delay)
    else:
        for chunk in chunks:
            await response.write(chunk)
    await response.write_eof()
    return response


async def _send_part(
    response: web.StreamResponse, chunks: Iterable[memoryview | bytes], cut: int
) -> None:
    sent = 0
    for chunk in chunks:
        piece = chunk[: max(0, cut - sent)]
        if piece:
            await response.write(piece)
            sent += len(piece)
        if sent >= cut:
            break
