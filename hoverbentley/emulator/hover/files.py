"""Hover's artifacts and images: a 302 to signed storage (or the body itself), and the oracle."""

from __future__ import annotations

from aiohttp import web

from ..catalog import CANONICAL_HOST, USER_PARAMS, HoverCatalog, file_key
from ..config import EmulatorConfig
from ..host import Host
from ..respond import json_response
from ..storage import Signer, serve_content
from .errors import hover_error


class Files:
    """``GET`` of an artifact or image, and ``/_emulator/files`` (every expected file)."""

    def __init__(
        self, config: EmulatorConfig, catalog: HoverCatalog, signer: Signer, direct: Host
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.signer = signer
        #: Faults of files served by the API host itself (``redirect_files=False``).
        self.direct = direct
        #: Origin of the storage host the redirects point to (set once it listens).
        self.storage_url = ""

    async def get(self, request: web.Request) -> web.StreamResponse:
        """A redirect to a signed storage URL, or the body when redirects are off."""
        entry = self.catalog.files.get(file_key(request.path_qs))
        if entry is None or not entry.available:
            return hover_error(404, "Not Found")
        if self.config.redirect_files:
            raise web.HTTPFound(self.signer.sign(self.storage_url, entry.file_id, entry.name))
        return await serve_content(
            request, entry.content(), entry.content_type, self.config, self.direct
        )

    async def expected(self, request: web.Request) -> web.StreamResponse:
        """Every file of complete models with its size and hashes."""
        origin = f"{request.scheme}://{request.host}"
        out = [
            {
                "url": entry.url.replace(CANONICAL_HOST, origin),
                "job_id": job_id,
                "model_id": model_id,
                "category": entry.category,
                "size": content.size,
                "sha256": content.sha256,
                "etag": content.etag,
            }
            for job_id, model_id, entry in self.catalog.files_of()
            for content in (entry.content(),)
        ]
        return json_response({"files": out, "user_params": list(USER_PARAMS)})
