"""Reality data containers in Azure Blob Storage: SAS renewal, listing and downloads."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio

from .._core.azure import (
    MAX_RESULTS,
    BlobItem,
    blob_url,
    list_url,
    parse_blob_list,
    sas_expiry,
    strip_query,
)
from .._transport import Transport
from ..download import DownloadResult, download_file
from ..errors import PermissionDeniedError

#: Renew a SAS this long before its ``se=`` expiry (or a fifth of its lifetime, if shorter).
RENEW_BEFORE = 300.0


class SasContainer:
    """A container URL with a SAS that is renewed before it expires and after a 403.

    ``fetch`` returns a fresh container SAS URL (Reality Management's ``readaccess``).
    Only one renewal runs at a time; callers that arrive meanwhile share its result.
    """

    def __init__(
        self, fetch: Callable[[], Awaitable[str]], *, renew_before: float = RENEW_BEFORE
    ) -> None:
        self._fetch = fetch
        self._renew_before = renew_before
        self._url: str | None = None
        self._renew_at = 0.0
        self._lock = anyio.Lock()
        self.renewals = 0

    def __repr__(self) -> str:
        return f"SasContainer({strip_query(self._url) if self._url else '<not fetched>'!r})"

    async def url(self) -> str:
        """The current container SAS URL, renewed first if it is about to expire."""
        if self._url is None or time.time() >= self._renew_at:
            await self.renew(self._url)
        assert self._url is not None
        return self._url

    async def renew(self, rejected: str | None) -> str:
        """Fetch a new SAS unless another caller already replaced ``rejected``."""
        async with self._lock:
            if self._url is not None and self._url != rejected and time.time() < self._renew_at:
                return self._url
            url = await self._fetch()
            now = time.time()
            expiry = sas_expiry(url)
            if expiry is None:
                self._renew_at = now + 3000  # no se=: assume Bentley's one hour, renew at 50 min
            else:
                margin = min(self._renew_before, max(0.0, expiry - now) / 5)
                self._renew_at = expiry - margin
            self._url = url
            self.renewals += 1
            return url

    async def blob_url(self, name: str) -> str:
        """The signed URL of blob ``name``."""
        return blob_url(await self.url(), name)

    @property
    def base(self) -> str:
        """The container URL without the SAS (an identity safe to log and store)."""
        return strip_query(self._url) if self._url else ""


async def list_blobs(
    transport: Transport, container: SasContainer, prefix: str = "", *, page_size: int = MAX_RESULTS
) -> AsyncIterator[BlobItem]:
    """Every blob under ``prefix``, page by page (List Blobs, up to 5,000 per page)."""
    marker: str | None = None
    while True:
        signed = await container.url()
        try:
            response = await transport.request(
                "GET", list_url(signed, prefix, marker, page_size), authenticated=False
            )
        except PermissionDeniedError:
            signed = await container.renew(signed)
            response = await transport.request(
                "GET", list_url(signed, prefix, marker, page_size), authenticated=False
            )
        items, marker = parse_blob_list(response.body, strip_query(response.url))
        for item in items:
            yield item
        if not marker:
            return


async def download_blob(
    transport: Transport,
    container: SasContainer,
    name: str,
    dest: str | os.PathLike[str],
    *,
    md5: str | None = None,
) -> DownloadResult:
    """Stream blob ``name`` to ``dest`` (resumable; re-signed once after a 403)."""
    current = await container.url()
    identity = blob_url(strip_query(current), name)
    try:
        return await download_file(
            transport,
            blob_url(current, name),
            dest,
            authenticated=False,
            identity=identity,
            md5=md5,
        )
    except PermissionDeniedError:
        fresh = await container.renew(current)
        return await download_file(
            transport, blob_url(fresh, name), dest, authenticated=False, identity=identity, md5=md5
        )
