"""The file storage host: signed URLs, no Authorization header, Range and If-Range with ETags."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote

from aiohttp import web

from .bodies import serve_body
from .catalog import HoverCatalog
from .config import EmulatorConfig
from .host import Host, host_app
from .recording import RecordedRequest


class Signer:
    """HMAC signatures for storage URLs that expire."""

    def __init__(self, secret: bytes, ttl: int) -> None:
        self._secret = secret
        self.ttl = ttl

    def signature(self, file_id: str, expires: int) -> str:
        return hmac.new(self._secret, f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def sign(self, base_url: str, file_id: str, name: str) -> str:
        """A signed URL of ``file_id`` on the storage host at ``base_url``."""
        expires = int(time.time()) + self.ttl
        sig = self.signature(file_id, expires)
        return f"{base_url}/files/{file_id}/{quote(name)}?X-Expires={expires}&X-Signature={sig}"

    def valid(self, file_id: str, expires: str, sig: str) -> bool:
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(self.signature(file_id, int(expires)), sig)


def injected_error(status: int) -> Any:
    """The body of an error injected into a file answer."""
    return {"error": f"injected {status}"}


def _s3_error(status: int, code: str, message: str) -> web.Response:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error>"
    )
    return web.Response(text=body, status=status, content_type="application/xml")


def storage_app(
    config: EmulatorConfig,
    catalog: HoverCatalog,
    signer: Signer,
    host: Host,
    log: list[RecordedRequest],
) -> web.Application:
    """The aiohttp application of the storage host."""

    async def get_file(request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        if "Authorization" in request.headers:
            return _s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Signature query parameter"
                " should be specified",
            )
        if not signer.valid(
            file_id, request.query.get("X-Expires", ""), request.query.get("X-Signature", "")
        ):
            return _s3_error(403, "AccessDenied", "Request has expired or the signature is wrong")
        entry = catalog.by_id.get(file_id)
        if entry is None or not entry.available:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return await serve_content(request, entry.content(), entry.content_type, config, host)

    app = host_app("storage", log, host.faults)
    app.router.add_get("/files/{file_id}/{name}", get_file)
    return app


async def serve_content(
    request: web.Request,
    content: Any,
    content_type: str,
    config: EmulatorConfig,
    host: Host,
) -> web.StreamResponse:
    """Answer a GET of ``content`` (a :class:`~.content.Content`), honouring Range/If-Range."""
    return await serve_body(
        request,
        content,
        {"Content-Type": content_type},
        host,
        etags=config.storage_etags,
        ranges=config.storage_ranges,
        precondition_failed=lambda: _s3_error(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        ),
    )
