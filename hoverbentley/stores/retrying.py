"""One signed request to a store's own API, sent again after a 5xx, a reset or a timeout.

For the few calls obstore does not make (Set Blob Metadata on Azure; listing and aborting
S3 multipart uploads): each caller signs the request, this sends it and says how it ended.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp
import anyio
from yarl import URL


@dataclass(frozen=True)
class Answer:
    """How a request ended: its last status and body, or (``status`` None) the failure's
    name and text when no answer came."""

    status: int | None
    body: bytes = b""
    failure: str = ""


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: str | URL,
    headers: Callable[[], Mapping[str, str]],
    *,
    tries: int,
    backoff: float,
    done: Callable[[int], bool],
) -> Answer:
    """Send until an answer is ``done`` or a status below 500, at most ``tries`` times,
    waiting ``backoff × 2**attempt`` seconds between; ``headers`` are made for each try (a
    signature may hold the time)."""
    answer = Answer(None)
    for attempt in range(tries):
        if attempt:
            await anyio.sleep(backoff * 2**attempt)
        try:
            async with session.request(method, url, headers=headers()) as response:
                answer = Answer(response.status, await response.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            answer = Answer(None, failure=f"{type(exc).__name__} {exc}".strip())
            continue
        if done(response.status) or response.status < 500:
            return answer
    return answer
