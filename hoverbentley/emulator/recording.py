"""A log of every request the emulator saw, for tests to assert on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class RecordedRequest:
    """One request as the emulator received it, and what it answered."""

    target: str
    method: str
    path: str
    query_string: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int = 0
    fault: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def path_qs(self) -> str:
        """Path and query string, as sent."""
        return self.path + ("?" + self.query_string if self.query_string else "")

    @property
    def range(self) -> str | None:
        """The ``Range`` header, if any."""
        return self.headers.get("Range")

    @property
    def authorization(self) -> str | None:
        """The ``Authorization`` header, if any."""
        return self.headers.get("Authorization")


RECORD_KEY = web.RequestKey("hoverbentley_record", RecordedRequest)


def recording_middleware(target: str, log: list[RecordedRequest]) -> Middleware:
    """A middleware that appends every request to ``log`` with its final status."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        entry = RecordedRequest(
            target=target,
            method=request.method,
            path=request.path,
            query_string=request.query_string,
            query=dict(request.query),
            headers=dict(request.headers),
        )
        log.append(entry)
        request[RECORD_KEY] = entry
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            entry.status = exc.status
            raise
        except BaseException:
            entry.status = entry.status or 599
            raise
        entry.status = response.status
        return response

    return record


def record_of(request: web.Request) -> RecordedRequest | None:
    """The log entry of ``request``."""
    entry = request.get(RECORD_KEY)
    return entry if isinstance(entry, RecordedRequest) else None
