"""Reality data containers in Azure Blob Storage: SAS renewal, listing and downloads."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from .._http.part_file import PartFile
from .._http.renewable import Lease, Renewable
from .._http.transfer import DownloadResult, Writer, transfer
from .._http.transport import Transport
from ..errors import PermissionDeniedError
from .azure import (
    MAX_RESULTS,
    BlobItem,
    blob_url,
    list_url,
    parse_blob_list,
    sas_expiry,
    strip_query,
)

#: Renew a SAS this long before its ``se=`` expiry (or a fifth of its lifetime, if shorter).
RENEW_BEFORE = 300.0
T = TypeVar("T")


class SasContainer:
    """A container URL with a SAS that is renewed before it expires and after a 403.

    ``fetch`` returns a fresh container SAS URL (Reality Management's ``readaccess``). A SAS
    without an ``se=`` expiry is used until the storage refuses it.
    """

    def __init__(
        self, fetch: Callable[[], Awaitable[str]], *, renew_before: float = RENEW_BEFORE
    ) -> None:
        async def lease() -> Lease[str]:
            url = await fetch()
            return Lease(url, sas_expiry(url))

        self._sas = Renewable(lease, advisory=renew_before, mandatory=renew_before / 5)

    def __repr__(self) -> str:
        current = self._sas.current
        return f"SasContainer({strip_query(current) if current else '<not fetched>'!r})"

    @property
    def renewals(self) -> int:
        """How many SAS URLs were fetched."""
        return self._sas.renewals

    async def url(self) -> str:
        """The current container SAS URL, renewed first if it is about to expire."""
        return await self._sas.get()

    async def renew(self, rejected: str | None) -> str:
        """Fetch a new SAS unless another caller already replaced ``rejected``."""
        return await self._sas.renew(rejected)

    async def blob_url(self, name: str) -> str:
        """The signed URL of blob ``name``."""
        return blob_url(await self.url(), name)

    @property
    def base(self) -> str:
        """The container URL without the SAS (an identity safe to log and store)."""
        current = self._sas.current
        return strip_query(current) if current else ""

    async def signed(self, action: Callable[[str], Awaitable[T]]) -> T:
        """``action(container SAS URL)``, once more with a renewed SAS if storage answers 403."""
        current = await self.url()
        try:
            return await action(current)
        except PermissionDeniedError:
            return await action(await self.renew(current))


async def list_blobs(
    transport: Transport, container: SasContainer, prefix: str = "", *, page_size: int = MAX_RESULTS
) -> AsyncIterator[BlobItem]:
    """Every blob under ``prefix``, page by page (List Blobs, up to 5,000 per page)."""
    marker: str | None = None
    while True:

        async def page(
            signed: str, marker: str | None = marker
        ) -> tuple[list[BlobItem], str | None]:
            url = list_url(signed, prefix, marker, page_size)
            response = await transport.request("GET", url, authenticated=False)
            return parse_blob_list(response.body, strip_query(response.url))

        items, marker = await container.signed(page)
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
    """Stream blob ``name`` to ``dest`` (resumable; re-signed once after a 403).

    The blob's URL without its SAS names the ``.part`` file's owner, so a part left by an
    earlier run is continued under a new signature.
    """
    identity = blob_url(strip_query(await container.url()), name)
    async with PartFile(dest, identity, md5=md5 is not None) as part:
        return await blob_into(transport, container, name, part, md5=md5)


async def blob_into(
    transport: Transport,
    container: SasContainer,
    name: str,
    writer: Writer,
    *,
    md5: str | None = None,
) -> DownloadResult:
    """Stream blob ``name`` into ``writer``; after a 403, once more with a renewed SAS, from
    the bytes the writer already holds."""

    async def into(signed: str) -> DownloadResult:
        url = blob_url(signed, name)
        return await transfer(transport, url, writer, authenticated=False, md5=md5)

    return await container.signed(into)
