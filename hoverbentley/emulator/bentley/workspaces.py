"""Reality Modeling v1 workspaces and the engines limit of an iTwin."""

from __future__ import annotations

import copy

from aiohttp import web

from ..bentley_catalog import BentleyCatalog, now_timestamp
from ..respond import json_response
from .errors import bentley_error, invalid
from .jobs import json_body


class Workspaces:
    """``/contextcapture/workspaces`` and ``/contextcapture/limits/engines``."""

    def __init__(self, catalog: BentleyCatalog) -> None:
        self.catalog = catalog

    async def create(self, request: web.Request) -> web.StreamResponse:
        """A new workspace."""
        body = await json_body(request)
        if not isinstance(body, dict) or not body.get("name"):
            return invalid("Invalid workspace.", "name", "name is required")
        workspace = {
            "id": self.catalog.new_id(),
            "createdDateTime": now_timestamp(),
            "name": body["name"],
            "iTwinId": body.get("iTwinId", ""),
            "contextCaptureVersion": "22.0",
        }
        self.catalog.workspaces[workspace["id"]] = workspace
        return json_response({"workspace": workspace}, status=201)

    async def get_or_delete(self, request: web.Request) -> web.StreamResponse:
        """One workspace (``GET``), or its removal (``DELETE``)."""
        workspace = self.catalog.workspaces.get(request.match_info["workspace_id"])
        if workspace is None:
            return bentley_error(404, "WorkspaceNotFound", "Requested workspace is not available.")
        if request.method == "DELETE":
            del self.catalog.workspaces[workspace["id"]]
            return web.Response(status=204)
        return json_response({"workspace": copy.deepcopy(workspace)})

    async def engines(self, request: web.Request) -> web.StreamResponse:
        """The processing engines an iTwin may use."""
        itwin = request.query.get("iTwinId", "")
        if itwin.lower() not in self.catalog.itwins:
            return bentley_error(404, "iTwinNotFound", "Requested iTwin is not available.")
        return json_response({"enginesLimit": {"maxEngines": 10}})
