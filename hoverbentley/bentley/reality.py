"""Reality Management: reality data metadata, listing, and read access to its container."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import msgspec

from .._core.decode import decode_json
from .._http.paging import prefetch_pages
from ..errors import DecodeError
from ..redact import rich_repr_without
from .azure import sas_expiry
from .base import BentleyApi
from .defaults import REALITY_DATA_URL
from .filters import validate_top
from .listing import id_segment
from .models import Paged, _Model
from .storage import SasContainer

DEFAULT_BASE_URL = REALITY_DATA_URL


class RealityData(_Model):
    """Metadata of one reality data (a job output, a capture, a model...)."""

    id: str
    display_name: str | None = None
    dataset: str | None = None
    group: str | None = None
    description: str | None = None
    root_document: str | None = None
    #: Size in KB, as the service reports it.
    size: int | None = None
    classification: str | None = None
    type: str | None = None
    data_center_location: str | None = None
    created_date_time: str | None = None
    modified_date_time: str | None = None
    last_accessed_date_time: str | None = None
    owner_id: str | None = None
    authoring: bool | None = None
    tags: list[str] | None = None


class RealityDataResponse(_Model):
    reality_data: RealityData


class RealityDataPage(Paged):
    """One page of ``GET /reality-data``."""

    reality_data: list[RealityData] = msgspec.field(default_factory=list)


class _Href(_Model):
    href: str | None = None


class _ContainerLinks(_Model):
    container_url: _Href | None = None


class ContainerAccess(_Model):
    """``readaccess``: a container URL with a SAS (``type`` ``AzureBlobSasUrl``)."""

    type: str | None = None
    access: str | None = None
    links: _ContainerLinks | None = msgspec.field(default=None, name="_links")

    @property
    def url(self) -> str | None:
        """The container SAS URL."""
        if self.links is None or self.links.container_url is None:
            return None
        return self.links.container_url.href

    @property
    def expires_at(self) -> float | None:
        """When the SAS expires (epoch seconds, from ``se=``)."""
        return sas_expiry(self.url) if self.url else None

    __rich_repr__ = rich_repr_without("links")

    def __repr__(self) -> str:
        return f"ContainerAccess(type={self.type!r}, <SAS redacted>)"


_ONE = msgspec.json.Decoder(RealityDataResponse)
_PAGE = msgspec.json.Decoder(RealityDataPage)
_ACCESS = msgspec.json.Decoder(ContainerAccess)


class RealityManagementClient(BentleyApi):
    """Reality data of an iTwin and read access to the files they hold.

    Takes the same credentials as :class:`~hoverbentley.bentley.RealityModelingClient`
    (``auth=other.auth`` shares them, and their token).
    """

    default_base_url: ClassVar[str | None] = DEFAULT_BASE_URL

    @staticmethod
    def _itwin(itwin_id: str | None) -> str:
        return f"?{urlencode({'iTwinId': itwin_id})}" if itwin_id else ""

    async def get_reality_data(
        self, reality_data_id: str, itwin_id: str | None = None
    ) -> RealityData:
        """``GET /reality-data/{id}``."""
        path = f"/{id_segment(reality_data_id)}{self._itwin(itwin_id)}"
        return (await self._call(_ONE, "GET", path)).reality_data

    async def iter_reality_data(
        self, itwin_id: str, *, top: int | None = None
    ) -> AsyncIterator[RealityData]:
        """Every reality data of an iTwin, following next links one page ahead."""
        validate_top(top)
        params = {"iTwinId": itwin_id}
        if top is not None:
            params["$top"] = str(top)
        first = f"{self.base_url}/?{urlencode(params, quote_via=quote, safe='$')}"

        async def fetch(url: str) -> RealityDataPage:
            response = await self.transport.request("GET", url)
            return decode_json(_PAGE, response.body, response.url)

        pages = prefetch_pages(fetch, first, lambda page, _url: page.next_link)
        async with aclosing(pages):  # leaving early cancels the page in flight at once
            async for page in pages:
                for item in page.reality_data:
                    yield item

    async def read_access(self, reality_data_id: str, itwin_id: str | None = None) -> str:
        """A container URL with a read+list SAS for the reality data's files."""
        path = f"/{id_segment(reality_data_id)}/readaccess{self._itwin(itwin_id)}"
        response = await self.transport.request("GET", path)
        access = decode_json(_ACCESS, response.body, response.url)
        if not access.url:
            raise DecodeError(
                "readaccess answered without _links.containerUrl.href", url=response.url
            )
        for key, value in parse_qsl(urlsplit(access.url).query):
            if key == "sig":
                self.transport.scrubber.add(value)
        return access.url

    def container(self, reality_data_id: str, itwin_id: str | None = None) -> SasContainer:
        """The reality data's container, its SAS renewed as needed."""
        return SasContainer(lambda: self.read_access(reality_data_id, itwin_id))
