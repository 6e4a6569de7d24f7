"""Response bodies: read whole within a limit, or streamed with stall detection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import aiohttp
import anyio

from ..errors import APIError, APITimeoutError
from .failures import HopFailure, wrap_error


class BodyStream:
    """An open response whose body is read in chunks.

    A body that delivers no byte for ``stall_timeout`` seconds is cut with
    :class:`~hoverbentley.errors.APITimeoutError`, so the caller can resume it.
    """

    def __init__(self, response: aiohttp.ClientResponse, url: str, stall_timeout: float) -> None:
        self._response = response
        self._stall_timeout = stall_timeout
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self.url = url

    @property
    def content_length(self) -> int | None:
        return self._response.content_length

    async def chunks(self, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most ``size`` bytes, as they arrive."""
        # One buffered piece at a time: joining pieces (as ``iter_chunked`` does) copies
        # every byte once more, which the writer batches away anyway.
        pieces = self._response.content.iter_chunks().__aiter__()
        while True:
            try:
                with anyio.fail_after(self._stall_timeout):
                    chunk, _ = await pieces.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise APITimeoutError(
                    f"the body stalled: no data for {self._stall_timeout:g} s", url=self.url
                ) from None
            except Exception as exc:
                raise wrap_error(exc, self.url, sent=True) from None
            if len(chunk) > size:
                for start in range(0, len(chunk), size):
                    yield chunk[start : start + size]
            elif chunk:
                yield chunk


async def read_body(
    response: aiohttp.ClientResponse, url: str, origin: str, *, limit: int
) -> bytes:
    """The whole body; an error body is cut at ``limit`` bytes, a success body refused beyond it."""
    error = response.status >= 300
    declared = response.content_length
    if declared is not None and declared > limit and not error:
        raise APIError(
            f"response body of {declared} bytes is larger than the limit of {limit} bytes",
            url=url,
        )
    parts: list[bytes] = []
    total = 0
    try:
        async for chunk in response.content.iter_chunked(256 * 1024):
            total += len(chunk)
            if total > limit:
                if error:
                    parts.append(chunk[: max(0, limit - (total - len(chunk)))])
                    break
                raise APIError(f"response body is larger than the limit of {limit} bytes", url=url)
            parts.append(chunk)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        raise HopFailure(wrap_error(exc, url, sent=True), sent=True, origin=origin) from None
    return b"".join(parts)
