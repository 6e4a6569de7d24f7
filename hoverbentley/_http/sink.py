"""Stream one download into a :class:`Sink` (an object-store upload) instead of a file.

The sink receives the body in order, hashed on the way. A body cut mid-file is resumed with a
Range request guarded by ``If-Range`` from the sink's current length (the sink holds every byte
before it), and started over (:meth:`Sink.restart`) when the server ignores the range or the
file changed. The sink is never finished here: the caller completes it once the checks pass.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import anyio

from ..errors import APIConnectionError, APIStatusError, IntegrityError
from .clock import now
from .digest import Digest, check_md5
from .download import DownloadResult
from .ranges import CannotResume, body_start, resume_headers, strong, unsatisfied_total
from .transport import Transport

logger = logging.getLogger("hoverbentley")

_MAX_RESTARTS = 3


class Sink(Protocol):
    """Where a streamed body goes: bytes appended in order, or dropped to start again."""

    #: The object's name, as the result's ``path`` reports it.
    name: str

    @property
    def size(self) -> int:
        """How many bytes the sink holds (a resume continues from here)."""
        ...

    async def write(self, data: bytes) -> None:
        """Append ``data``."""
        ...

    async def restart(self) -> None:
        """Drop everything written so far; the next write is byte 0 again."""
        ...


class _Cut(Exception):
    def __init__(self, error: APIConnectionError) -> None:
        self.error = error


async def stream_into(
    transport: Transport,
    url: str,
    sink: Sink,
    *,
    authenticated: bool = True,
    md5: str | None = None,
) -> DownloadResult:
    """Stream ``url`` into ``sink``, verified; the result's ``path`` is ``sink.name``.

    Body failures are retried with the transport's retry policy, resuming by range when the
    server names a strong ETag. The announced length and ``md5`` (base64, as in
    ``Content-MD5``) are checked before returning; on any error the sink is left for the caller
    to abandon.
    """
    if sink.size:
        await sink.restart()
    hashes = Digest(md5 is not None)
    offset = 0
    etag: str | None = None
    received = 0
    failures = restarts = 0
    policy = transport.retry_policy
    started = now()
    while True:
        headers = resume_headers(offset, etag)
        try:
            async with transport.stream(
                url, headers=headers, authenticated=authenticated, started=started
            ) as body:
                start, total = body_start(body.status, body.headers, body.content_length, offset)
                new_etag = strong(body.headers.get("ETag"))
                if start and new_etag != etag:
                    raise CannotResume()  # another version: never splice two into one object
                if start == 0:
                    if offset:  # the whole body came back: drop what the sink has
                        await sink.restart()
                        offset, hashes = 0, Digest(md5 is not None)
                    etag = new_etag
                try:
                    async for chunk in body.chunks():
                        hashes.update(chunk)
                        await sink.write(chunk)
                        offset += len(chunk)
                        received += len(chunk)
                except APIConnectionError as exc:
                    raise _Cut(exc) from None
                if total is not None and offset != total:
                    raise IntegrityError(
                        f"received {offset} bytes where {total} were announced", url=url
                    )
        except CannotResume:
            restarts += 1
            if restarts > _MAX_RESTARTS:
                raise IntegrityError(
                    "the server's ranges do not match the request", url=url
                ) from None
            await sink.restart()
            offset, etag, hashes = 0, None, Digest(md5 is not None)
            continue
        except _Cut as exc:
            if not etag:
                await sink.restart()
                offset, hashes = 0, Digest(md5 is not None)
            if transport.body_failed(exc.error.url or url):
                continue  # the host is down: wait for it in the next request, budget unspent
            failures += 1
            delay = policy.body_retry(failures, now() - started)
            if delay is None:
                raise exc.error from None
            logger.info("resuming %s at byte %d in %.2f s: %s", sink.name, offset, delay, exc.error)
            await anyio.sleep(delay)
            continue
        except APIStatusError as exc:
            if exc.status == 416 and offset:
                if unsatisfied_total(exc.headers) == offset:
                    break  # every byte is already in the sink
                await sink.restart()
                offset, etag, hashes = 0, None, Digest(md5 is not None)
                continue
            raise
        break
    check_md5(hashes, md5, url)
    return DownloadResult(Path(sink.name), offset, hashes.hexdigest(), etag, received, 0)
