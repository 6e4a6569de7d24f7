"""A GET of a file body: Range, If-Range and If-Match, counted, damaged by the host's faults."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from aiohttp import web

from .host import Host
from .respond import stream_body

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CONDITIONAL = ("Range", "If-Range", "If-Match")


class Body(Protocol):
    """What a served file offers (see :class:`~.content.Content`)."""

    @property
    def size(self) -> int: ...

    @property
    def etag(self) -> str: ...

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[memoryview]: ...


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) of a single-range ``Range`` header; ``None`` if invalid.

    Raises ``ValueError`` when the range cannot be satisfied (answer 416).
    """
    match = _RANGE.match(header.strip())
    if not match or match.group(0) == "bytes=-":
        return None
    first, last = match.groups()
    if not first:
        start, end = max(0, size - int(last)), size
    else:
        start = int(first)
        end = min(size, int(last) + 1) if last else size
    if start >= size or start >= end:
        raise ValueError("unsatisfiable")
    return start, end


def _if_match_fails(header: str | None, etag: str | None) -> bool:
    if header is None or etag is None:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" not in tags and etag not in tags


async def serve_body(
    request: web.Request,
    body: Body,
    headers: Mapping[str, str],
    host: Host,
    *,
    etags: bool = True,
    ranges: bool = True,
    precondition_failed: Callable[[], web.StreamResponse],
) -> web.StreamResponse:
    """Answer a GET of ``body``: 200, 206 for a range (unless If-Range names another
    version), 412 when If-Match names another version, 416 for a range past the end.

    Every request carrying one of :data:`CONDITIONAL` is counted in
    ``counters.ranged[host, status]``.
    """
    answer, fault = await host.misbehave(request)
    if answer is not None:
        return answer
    conditional = any(h in request.headers for h in CONDITIONAL)

    def counted(status: int) -> int:
        if conditional:
            host.faults.counters.ranged[host.name, status] += 1
        return status

    size = body.size
    etag = body.etag if etags else None
    out = dict(headers)
    if etag is not None:
        out["ETag"] = etag
    if ranges:
        out["Accept-Ranges"] = "bytes"
    if _if_match_fails(request.headers.get("If-Match"), etag):
        counted(412)
        return precondition_failed()
    start, end, status = 0, size, 200
    header = request.headers.get("Range")
    if header and ranges:
        if_range = request.headers.get("If-Range")
        if if_range is None or (etag is not None and if_range == etag):
            try:
                span = parse_range(header, size)
            except ValueError:
                counted(416)
                return web.Response(status=416, headers={"Content-Range": f"bytes */{size}", **out})
            if span is not None:
                start, end = span
                status = 206
                out["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    response = web.StreamResponse(status=counted(status), headers=out)
    return await stream_body(
        request, response, body.chunks(start, end), end - start, fault, host.body_faults(request)
    )
