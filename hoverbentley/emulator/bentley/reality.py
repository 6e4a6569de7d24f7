"""The emulated Reality Management API: reality data of job outputs (v1 and v2), read access."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from ..respond import json_response
from .errors import bentley_error
from .state import BentleyState

PREFIX = "/reality-management/reality-data"
OUTPUT_TYPES = {
    "Cesium 3D Tiles": "Cesium3DTiles",
    "OBJ": "OBJ",
    "3MX": "3MX",
    "LAS": "LAS",
    "Orthophoto/DSM": "Orthophoto",
    "ESRI i3s": "SLPK",
}


def reality_data_of(jobs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One reality data per produced job output, keyed by id (with its iTwin)."""
    out: dict[str, dict[str, Any]] = {}
    for job in jobs:
        for output in (job.get("jobSettings") or {}).get("outputs") or []:
            if output.get("id"):
                out[output["id"]] = {
                    "id": output["id"],
                    "displayName": f"{job['name']} - {output['format']}",
                    "type": OUTPUT_TYPES.get(output["format"], output["format"]),
                    "classification": "Model",
                    "size": 0,
                    "dataCenterLocation": job.get("location") or "East US",
                    "createdDateTime": job.get("lastModifiedDateTime") or job["createdDateTime"],
                    "modifiedDateTime": job.get("lastModifiedDateTime") or job["createdDateTime"],
                    "authoring": False,
                    "iTwinId": job.get("iTwinId"),
                }
    return out


class RealityData:
    """``/reality-management/reality-data``: list, get, and ``readaccess`` (a container SAS)."""

    def __init__(self, state: BentleyState) -> None:
        self.state = state

    def all(self) -> dict[str, dict[str, Any]]:
        """Every reality data: the outputs of v1 jobs and of successful v2 jobs."""
        items = reality_data_of(list(self.state.catalog.jobs.values()))
        items.update(self.state.v2_reality_data())
        return items

    def find(self, request: web.Request) -> dict[str, Any] | web.Response:
        """The reality data the path names (within ``iTwinId`` if given), or a 404."""
        item = self.all().get(request.match_info["rd_id"])
        itwin = request.query.get("iTwinId")
        if item is None or (itwin and itwin.lower() != str(item.get("iTwinId")).lower()):
            return bentley_error(
                404, "RealityDataNotFound", "Requested reality data is not available."
            )
        return item

    async def get(self, request: web.Request) -> web.StreamResponse:
        """One reality data."""
        item = self.find(request)
        if isinstance(item, web.Response):
            return item
        return json_response({"realityData": _public(item)})

    async def list(self, request: web.Request) -> web.StreamResponse:
        """A page of reality data (of one iTwin, if given), with a ``next`` link."""
        itwin = (request.query.get("iTwinId") or "").lower()
        top = int(request.query.get("$top") or 100)
        items = [
            _public(i)
            for i in self.all().values()
            if not itwin or str(i.get("iTwinId")).lower() == itwin
        ]
        token = request.query.get("continuationToken")
        offset = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        body: dict[str, Any] = {"realityData": items[offset : offset + top]}
        if offset + top < len(items):
            next_token = base64.urlsafe_b64encode(str(offset + top).encode()).decode()
            params = {"iTwinId": itwin, "$top": str(top), "continuationToken": next_token}
            origin = f"{request.scheme}://{request.host}"
            body["_links"] = {"next": {"href": f"{origin}{PREFIX}/?{urlencode(params)}"}}
        return json_response(body)

    async def read_access(self, request: web.Request) -> web.StreamResponse:
        """A read/list SAS URL of the reality data's blob container."""
        item = self.find(request)
        if isinstance(item, web.Response):
            return item
        url = self.state.read_sas(item["id"])
        if url is None:
            return bentley_error(503, "StorageUnavailable", "No blob storage is configured.")
        return json_response(
            {"type": "AzureBlobSasUrl", "access": "Read", "_links": {"containerUrl": {"href": url}}}
        )


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "iTwinId"}
