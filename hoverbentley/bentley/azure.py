"""Azure Blob Storage protocol pieces with no I/O: SAS expiry, List Blobs URLs and XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from .._core.times import parse_iso
from ..errors import DecodeError

#: Azure returns at most this many blobs per List Blobs page.
MAX_RESULTS = 5000


@dataclass(frozen=True)
class BlobItem:
    """A blob of a container listing."""

    name: str
    size: int
    etag: str | None
    content_md5: str | None
    last_modified: str | None


def sas_expiry(url: str) -> float | None:
    """The epoch seconds of a SAS URL's ``se=`` expiry, or ``None`` without a readable one."""
    for key, value in parse_qsl(urlsplit(url).query):
        if key == "se":
            try:
                moment = parse_iso(value)
            except ValueError:
                return None
            return moment.timestamp() if moment is not None else None
    return None


def strip_query(url: str) -> str:
    """``url`` without its query (a blob's identity without the SAS)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def blob_url(container_url: str, name: str) -> str:
    """The URL of blob ``name`` in the container at ``container_url`` (SAS kept)."""
    parts = urlsplit(container_url)
    path = parts.path.rstrip("/") + "/" + quote(name, safe="/~")
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def list_url(
    container_url: str, prefix: str = "", marker: str | None = None, page_size: int = MAX_RESULTS
) -> str:
    """The List Blobs URL of one page (``restype=container&comp=list``)."""
    parts = urlsplit(container_url)
    params = [("restype", "container"), ("comp", "list"), ("maxresults", str(page_size))]
    if prefix:
        params.append(("prefix", prefix))
    if marker:
        params.append(("marker", marker))
    query = "&".join(q for q in (parts.query, urlencode(params, quote_via=quote)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def parse_blob_list(body: bytes, url: str) -> tuple[list[BlobItem], str | None]:
    """The blobs of one List Blobs page and the next marker (``None`` on the last page)."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - no entities are resolved by ElementTree
    except ET.ParseError as exc:
        raise DecodeError(f"the blob listing is not valid XML ({exc})", url=url) from None
    if root.tag != "EnumerationResults":
        raise DecodeError(f"expected <EnumerationResults>, got <{root.tag}>", url=url)
    items = []
    for blob in root.iterfind("Blobs/Blob"):
        name = blob.findtext("Name")
        props = blob.find("Properties")
        if name is None or props is None:
            raise DecodeError("a <Blob> without <Name> or <Properties>", url=url)
        length = props.findtext("Content-Length") or "0"
        if not length.isdigit():
            raise DecodeError(f"blob {name!r} has Content-Length {length!r}", url=url)
        items.append(
            BlobItem(
                name=name,
                size=int(length),
                etag=props.findtext("Etag") or None,
                content_md5=props.findtext("Content-MD5") or None,
                last_modified=props.findtext("Last-Modified") or None,
            )
        )
    marker = root.findtext("NextMarker") or None
    return items, marker
