"""The emulated Reality Management API: reality data of job outputs, and read access."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from .respond import Guard, guarded, json_response
from .sas import container_sas

PREFIX = "/reality-management/reality-data"
OUTPUT_TYPES = {
    "Cesium 3D Tiles": "Cesium3DTiles",
    "OBJ": "OBJ",
    "3MX": "3MX",
    "LAS": "LAS",
    "Orthophoto/DSM": "Orthophoto",
    "ESRI i3s": "SLPK",
}
ErrorFactory = Callable[[int, str, str], web.Response]


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


def add_reality_routes(
    app: web.Application,
    *,
    jobs: Callable[[], list[dict[str, Any]]],
    guard: Guard,
    error: ErrorFactory,
    blob_account_url: Callable[[], str | None],
    account: str,
    key: str,
    sas_ttl: Callable[[], float],
) -> None:
    """Mount ``/reality-management/reality-data`` on the Bentley host."""

    def find(request: web.Request) -> dict[str, Any] | web.Response:
        catalog = reality_data_of(jobs())
        item = catalog.get(request.match_info["rd_id"])
        if item is None:
            return error(404, "RealityDataNotFound", "Requested reality data is not available.")
        itwin = request.query.get("iTwinId")
        if itwin and itwin.lower() != str(item.get("iTwinId")).lower():
            return error(404, "RealityDataNotFound", "Requested reality data is not available.")
        return item

    def public(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k != "iTwinId"}

    async def get_one(request: web.Request) -> web.StreamResponse:
        item = find(request)
        return (
            item if isinstance(item, web.Response) else json_response({"realityData": public(item)})
        )

    async def list_all(request: web.Request) -> web.StreamResponse:
        itwin = (request.query.get("iTwinId") or "").lower()
        top = int(request.query.get("$top") or 100)
        items = [
            public(i)
            for i in reality_data_of(jobs()).values()
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

    async def read_access(request: web.Request) -> web.StreamResponse:
        item = find(request)
        if isinstance(item, web.Response):
            return item
        account_url = blob_account_url()
        if account_url is None:
            return error(503, "StorageUnavailable", "No blob storage is configured.")
        url = container_sas(account_url, account, key, item["id"], "rl", sas_ttl())
        return json_response(
            {"type": "AzureBlobSasUrl", "access": "Read", "_links": {"containerUrl": {"href": url}}}
        )

    app.router.add_get(f"{PREFIX}/", guarded(guard, list_all))
    app.router.add_get(f"{PREFIX}/{{rd_id}}", guarded(guard, get_one))
    app.router.add_get(f"{PREFIX}/{{rd_id}}/readaccess", guarded(guard, read_access))
