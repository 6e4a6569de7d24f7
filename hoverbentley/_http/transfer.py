"""The one transfer loop: a GET streamed into a :class:`Writer`, resumed, restarted, verified.

Every download goes through :func:`transfer`, whatever holds its bytes: a ``.part`` file
(:class:`~.part_file.PartFile`) or an object-store upload (:class:`~.sink.SinkWriter`). A
body cut mid-file is resumed with a Range request guarded by ``If-Range`` from the writer's
current length, and the writer is started over when the server ignores the range, the file
changed or there is no strong ETag to guard a range with. The announced length and the
``Content-MD5`` are checked here, once, before the writer keeps the bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import anyio

from ..errors import APIConnectionError, APIStatusError, IntegrityError
from .clock import now
from .digest import Digest, check_md5
from .ranges import CannotResume, body_start, resume_headers, strong, unsatisfied_total

if TYPE_CHECKING:
    from .transport import Transport

logger = logging.getLogger("hoverbentley")

#: How often a server may answer a range with the wrong bytes before the transfer gives up.
MAX_RESTARTS = 3


@dataclass(frozen=True)
class DownloadResult:
    """A file that is complete at ``path``.

    ``received`` counts the body bytes transferred by this call (less than ``size`` when a
    partial file was resumed); ``resumed_from`` is the offset a resume started at.
    """

    path: Path
    size: int
    sha256: str
    etag: str | None
    received: int
    resumed_from: int


class Writer(Protocol):
    """Where :func:`transfer` puts a body: one version of a file, its first bytes in order.

    The writer holds the bytes and their :class:`~.digest.Digest` (it may hash in a thread of
    its own); the loop decides when to resume, when to start over and whether the bytes are
    right, and calls :meth:`end` once they are all there.
    """

    @property
    def path(self) -> Path:
        """What the result names: the file's final path, or an object's key."""
        ...

    @property
    def size(self) -> int:
        """How many bytes the writer holds (a resume asks for the rest)."""
        ...

    @property
    def etag(self) -> str | None:
        """The strong ETag of the version held; ``None``: the bytes held cannot be continued."""
        ...

    @property
    def digest(self) -> Digest:
        """The checksums of the bytes held (complete once :meth:`end` returned)."""
        ...

    def write(self, data: bytes | memoryview) -> Awaitable[None]:
        """Append ``data``."""
        ...

    async def restart(self, etag: str | None) -> None:
        """Drop every byte held; the next ones are of version ``etag`` from byte 0."""
        ...

    async def end(self, check: Callable[[Digest], None]) -> None:
        """Every byte is here: run ``check`` on the digest (it raises if they are wrong), then
        keep them (a file is renamed into place; an upload waits for its caller's commit)."""
        ...


class _Cut(Exception):
    def __init__(self, error: APIConnectionError) -> None:
        self.error = error


async def transfer(
    transport: Transport,
    url: str,
    writer: Writer,
    *,
    authenticated: bool = True,
    md5: str | None = None,
) -> DownloadResult:
    """Stream ``url`` into ``writer``, continuing from the bytes it holds; verified.

    Body failures are retried with the transport's retry policy, resuming by range when the
    server names a strong ETag. The announced length and ``md5`` (base64, as in
    ``Content-MD5``; the writer's digest must take MD5) are checked before :meth:`Writer.end`.
    """
    if md5 is not None and not writer.digest.takes_md5:
        raise ValueError("an MD5 to check needs a writer that takes the MD5")
    if writer.size and writer.etag is None:
        await writer.restart(None)  # bytes of an unknown version: never continued
    resumed_from = writer.size
    write = writer.write
    policy = transport.retry_policy
    started = now()
    received = failures = restarts = 0
    while True:
        offset, etag = writer.size, writer.etag
        try:
            async with transport.stream(
                url,
                headers=resume_headers(offset, etag),
                authenticated=authenticated,
                started=started,
            ) as body:
                start, total = body_start(body.status, body.headers, body.content_length, offset)
                if not start:
                    await writer.restart(strong(body.headers.get("ETag")))
                elif strong(body.headers.get("ETag")) != etag:
                    raise CannotResume()  # another version: never splice two into one file
                try:
                    async for chunk in body.chunks():
                        received += len(chunk)
                        await write(chunk)
                except APIConnectionError as exc:
                    raise _Cut(exc) from None
                if total is not None and writer.size != total:
                    raise IntegrityError(
                        f"received {writer.size} bytes where {total} were announced", url=url
                    )
        except CannotResume:
            restarts += 1
            if restarts > MAX_RESTARTS:
                raise IntegrityError(
                    "the server's ranges do not match the request", url=url
                ) from None
            await writer.restart(None)
            continue
        except _Cut as exc:
            if writer.etag is None:
                await writer.restart(None)  # no version to guard a range with: from byte 0
            if transport.body_failed(exc.error.url or url):
                continue  # the host is down: wait for it in the next request, budget unspent
            failures += 1
            delay = policy.body_retry(failures, now() - started)
            if delay is None:
                raise exc.error from None
            logger.info(
                "resuming %s at byte %d in %.2f s: %s",
                writer.path.name,
                writer.size,
                delay,
                exc.error,
            )
            await anyio.sleep(delay)
            continue
        except APIStatusError as exc:
            if exc.status_code == 416 and offset:
                # The bytes held may already be the whole file (a crash before the rename).
                if unsatisfied_total(exc.headers) == offset:
                    break
                await writer.restart(None)
                continue
            raise
        break
    await writer.end(partial(check_md5, expected=md5, url=url))
    return DownloadResult(
        writer.path,
        writer.size,
        writer.digest.hexdigest(),
        writer.etag,
        received,
        resumed_from,
    )
