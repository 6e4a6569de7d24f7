"""The built-in blob service (an Azure Blob REST subset): List Blobs and GET blob, SAS-checked."""

from __future__ import annotations

import base64
import binascii
import secrets
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

from .blobs import Blob, BlobStore
from .bodies import serve_body
from .host import Host, host_app
from .recording import RecordedRequest
from .sas import SasRefused, check_container_sas

MAX_RESULTS = 5000
VERSION = "2020-12-06"


def azure_error(status: int, code: str, message: str, detail: str | None = None) -> web.Response:
    """An error in Azure Storage's XML shape."""
    request_id = secrets.token_hex(16)
    extra = (
        f"<AuthenticationErrorDetail>{escape(detail)}</AuthenticationErrorDetail>" if detail else ""
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?><Error>'
        f"<Code>{code}</Code><Message>{escape(message)}\nRequestId:{request_id}</Message>"
        f"{extra}</Error>"
    )
    return web.Response(
        text=body,
        status=status,
        content_type="application/xml",
        headers={"x-ms-error-code": code, "x-ms-request-id": request_id, "x-ms-version": VERSION},
    )


def _marker(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _after_marker(marker: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _blob_xml(blob: Blob) -> str:
    modified = format_datetime(blob.last_modified, usegmt=True)
    return (
        f"<Blob><Name>{escape(blob.name)}</Name><Properties>"
        f"<Creation-Time>{modified}</Creation-Time><Last-Modified>{modified}</Last-Modified>"
        f"<Etag>{blob.etag.strip(chr(34))}</Etag><Content-Length>{blob.size}</Content-Length>"
        "<Content-Type>application/octet-stream</Content-Type><Content-Encoding />"
        f"<Content-Language /><Content-MD5>{blob.md5}</Content-MD5><Cache-Control />"
        "<BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier>"
        "<AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus>"
        "<LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted>"
        "</Properties><OrMetadata /></Blob>"
    )


class BlobService:
    """One storage account holding a container per job output."""

    def __init__(self, store: BlobStore, account: str, key: str, host: Host) -> None:
        self.store = store
        self.account = account
        self.key = key
        self.host = host
        #: The account URL (``http://127.0.0.1:PORT/ACCOUNT``), set once it listens.
        self.url = ""

    def _refused(self, request: web.Request, permission: str) -> web.Response | None:
        if request.match_info["account"] != self.account:
            return azure_error(
                400,
                "InvalidUri",
                "The requested URI does not represent any resource on the server.",
            )
        try:
            check_container_sas(
                request.query, self.account, self.key, request.match_info["container"], permission
            )
        except SasRefused as refused:
            message = (
                "Server failed to authenticate the request. Make sure the value of Authorization"
                " header is formed correctly including the signature."
                if refused.code == "AuthenticationFailed"
                else refused.detail
            )
            return azure_error(403, refused.code, message, refused.detail)
        if not self.store.exists(request.match_info["container"]):
            return azure_error(404, "ContainerNotFound", "The specified container does not exist.")
        return None

    async def list(self, request: web.Request) -> web.StreamResponse:
        """List Blobs (``?restype=container&comp=list``): ``prefix``, ``marker``, ``maxresults``."""
        query = request.query
        if query.get("restype") != "container" or query.get("comp") != "list":
            return azure_error(
                400,
                "InvalidQueryParameterValue",
                "Value for one of the query parameters specified in the request URI is invalid.",
            )
        refused = self._refused(request, "l")
        if refused is not None:
            return refused
        early, fault = await self.host.misbehave(request)
        if early is not None:
            return early
        text = query.get("maxresults", str(MAX_RESULTS))
        if not text.isdigit() or int(text) < 1:
            return azure_error(
                400,
                "OutOfRangeQueryParameterValue",
                "One of the query parameters specified in the request URI is outside the"
                " permissible range.",
            )
        limit = min(int(text), MAX_RESULTS)
        prefix, marker = query.get("prefix", ""), query.get("marker", "")
        start = _after_marker(marker) if marker else ""
        if start is None:
            return azure_error(400, "InvalidQueryParameterValue", "The marker is not valid.")
        container = request.match_info["container"]
        names = [
            n for n in sorted(self.store.blobs(container)) if n.startswith(prefix) and n >= start
        ]
        page, rest = names[:limit], names[limit:]
        blobs = self.store.blobs(container)
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<EnumerationResults ServiceEndpoint="{escape(self.url)}"'
            f' ContainerName="{escape(container)}">'
            + (f"<Prefix>{escape(prefix)}</Prefix>" if prefix else "")
            + (f"<Marker>{escape(marker)}</Marker>" if marker else "")
            + f"<MaxResults>{limit}</MaxResults><Blobs>"
            + "".join(_blob_xml(blobs[n]) for n in page)
            + "</Blobs>"
            + (f"<NextMarker>{_marker(rest[0])}</NextMarker>" if rest else "<NextMarker />")
            + "</EnumerationResults>"
        )
        response = web.Response(
            text=body, content_type="application/xml", headers={"x-ms-version": VERSION}
        )
        return await self.host.damage(request, response, fault)

    async def get(self, request: web.Request) -> web.StreamResponse:
        """GET blob: Range, If-Range, If-Match, a quoted ETag and Content-MD5."""
        refused = self._refused(request, "r")
        if refused is not None:
            return refused
        blob = self.store.blobs(request.match_info["container"]).get(request.match_info["name"])
        if blob is None:
            return azure_error(404, "BlobNotFound", "The specified blob does not exist.")
        headers = {
            "Content-Type": "application/octet-stream",
            "Last-Modified": format_datetime(blob.last_modified, usegmt=True),
            "x-ms-blob-type": "BlockBlob",
            "x-ms-version": VERSION,
        }
        md5 = "x-ms-blob-content-md5" if "Range" in request.headers else "Content-MD5"
        headers[md5] = blob.md5
        return await serve_body(
            request,
            blob,
            headers,
            self.host,
            precondition_failed=lambda: azure_error(
                412,
                "ConditionNotMet",
                "The condition specified using HTTP conditional header(s) is not met.",
            ),
        )


def blob_app(service: BlobService, log: list[RecordedRequest]) -> web.Application:
    """The aiohttp application of the blob host."""
    app = host_app("blob", log, service.host.faults)
    app.router.add_get("/{account}/{container}", service.list)
    app.router.add_get("/{account}/{container}/{name:.+}", service.get)
    return app
