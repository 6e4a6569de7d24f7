"""Reality Modeling v1 jobs: list with ``$filter``, create, get, patch, delete, progress."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from ..bentley_catalog import now_timestamp
from ..odata import FilterSyntaxError, compile_filter
from ..respond import json_response
from .errors import bentley_error, invalid
from .state import BentleyState

API_PREFIX = "/contextcapture"
_ITWIN_EQ = re.compile(r"iTwinId\s+eq\s+'?([0-9A-Fa-f-]{36})'?")
_REQUIRED = ("type", "name", "workspaceId", "inputs", "settings")
#: The enums of contextcapture.json's jobCreation and jobCreateSettings.
_TYPES = ("Full", "Calibration", "Reconstruction")
_QUALITIES = ("Draft", "Medium", "Extra")
_CREATABLE_FORMATS = (
    "CCOrientations", "3MX", "3SM", "WebReady ScalableMesh", "Cesium 3D Tiles", "POD",
    "Orthophoto/DSM", "LAS", "FBX", "OBJ", "ESRI i3s", "DGN", "LODTreeExport", "PLY", "OPC",
    "OMR", "ContextScene", "GaussianSplats",
)  # fmt: skip


def _off_enum(body: dict[str, Any]) -> web.Response | None:
    """A 422 naming the first value of ``body`` outside the spec's enums, if any."""
    settings = body.get("settings")
    checks: list[tuple[str, Any, tuple[str, ...]]] = [("type", body.get("type"), _TYPES)]
    if isinstance(settings, dict):
        checks.append(("settings.quality", settings.get("quality"), _QUALITIES))
        outputs = settings.get("outputs")
        for n, value in enumerate(outputs if isinstance(outputs, list) else []):
            checks.append((f"settings.outputs[{n}]", value, _CREATABLE_FORMATS))
    for target, value, allowed in checks:
        if value not in allowed:
            return invalid("Invalid job.", target, f"{value!r} is not one of {', '.join(allowed)}.")
    return None


#: What :func:`json_body` returns for a body that is not JSON.
NOT_JSON: Any = object()


async def json_body(request: web.Request) -> Any:
    """The request's JSON body, or :data:`NOT_JSON`."""
    try:
        return await request.json()
    except json.JSONDecodeError:
        return NOT_JSON


def _outputs(formats: list[str]) -> list[dict[str, Any]]:
    return [{"format": f, "id": None} for f in formats]


class Jobs:
    """The ``/contextcapture/jobs`` resource."""

    def __init__(self, state: BentleyState) -> None:
        self.state = state
        self.catalog = state.catalog
        self.config = state.config

    def find(self, request: web.Request) -> dict[str, Any] | web.Response:
        """The job the path names, or a 404 answer."""
        job = self.catalog.jobs.get(request.match_info["job_id"])
        if job is None:
            return bentley_error(404, "JobNotFound", "Requested job is not available.")
        return job

    def _page_start(self, query: Any, filter_text: str, top: int) -> int | web.Response:
        token = query.get("continuationToken")
        if token is None:
            return 0
        found = self.state.offset_of(token, filter_text, top)
        if found is None:
            return invalid(
                "Cannot find jobs.",
                "continuationToken",
                "The continuation token is invalid.",
                code="InvalidContinuationToken",
            )
        return found

    async def list(self, request: web.Request) -> web.StreamResponse:
        """One page of the jobs matching ``$filter``, with a ``next`` link."""
        config, query = self.config, request.query
        filter_text = query.get("$filter")
        if not filter_text:
            return invalid("Cannot find jobs.", "$filter", "The $filter parameter is required.")
        top_text = query.get("$top", str(config.default_top))
        if not top_text.isdigit() or not 1 <= int(top_text) <= config.max_top:
            return invalid(
                "Cannot find jobs.",
                "$Top",
                "The $top query parameter value must be a positive integer that does not"
                " exceed 1000.",
            )
        top = int(top_text)
        try:
            predicate = compile_filter(filter_text)
        except FilterSyntaxError as exc:
            return invalid("Cannot find jobs.", "$filter", f"Invalid $filter: {exc}")
        itwin = _ITWIN_EQ.search(filter_text)
        if itwin and itwin.group(1).lower() not in self.catalog.itwins:
            return bentley_error(404, "iTwinNotFound", "Requested iTwin is not available.")
        offset = self._page_start(query, filter_text, top)
        if isinstance(offset, web.Response):
            return offset
        mine = "iTwinId" in filter_text
        matching = [
            job
            for job in self.catalog.jobs.values()
            if (mine or job["email"] == config.email) and predicate(job)
        ]
        body: dict[str, Any] = {"jobs": matching[offset : offset + top]}
        if offset + top < len(matching):
            body["_links"] = self.state.next_page(
                request, API_PREFIX, filter_text, filter_text, top, offset + top
            )
        return json_response(body)

    async def get(self, request: web.Request) -> web.StreamResponse:
        """One job."""
        job = self.find(request)
        return job if isinstance(job, web.Response) else json_response({"job": job})

    async def create(self, request: web.Request) -> web.StreamResponse:
        """A new unsubmitted job in an existing workspace."""
        body = await json_body(request)
        if body is NOT_JSON:
            return invalid("Invalid job.", "body", "The body is not valid JSON.")
        if not isinstance(body, dict):
            return invalid("Invalid job.", "body", "The body must be a JSON object.")
        missing = [k for k in _REQUIRED if k not in body]
        if missing:
            return bentley_error(
                422,
                "InvalidRealityModelingRequest",
                "Invalid job.",
                [
                    {"code": "MissingRequiredProperty", "message": f"{k} is required", "target": k}
                    for k in missing
                ],
            )
        refused = _off_enum(body)
        if refused is not None:
            return refused
        workspace = self.catalog.workspaces.get(body["workspaceId"])
        if workspace is None:
            return bentley_error(404, "WorkspaceNotFound", "Requested workspace is not available.")
        settings = body["settings"]
        job: dict[str, Any] = {
            "id": self.catalog.new_id(),
            "name": body["name"],
            "type": body["type"],
            "state": "unsubmitted",
            "createdDateTime": now_timestamp(),
            "lastModifiedDateTime": now_timestamp(),
            "iTwinId": workspace.get("iTwinId"),
            "location": "East US",
            "email": self.config.email,
            "workspaceId": workspace["id"],
            "inputs": body["inputs"],
            "jobSettings": {
                "quality": settings.get("quality", "Medium"),
                "outputs": _outputs(settings.get("outputs", [])),
                "processingEngines": settings.get("processingEngines", 0),
                "cacheSettings": settings.get("cacheSettings", {"createCache": False}),
            },
        }
        if "costEstimationParameters" in body:
            job["costEstimationParameters"] = body["costEstimationParameters"]
        self.catalog.jobs[job["id"]] = job
        return json_response({"job": job}, status=201)

    async def patch(self, request: web.Request) -> web.StreamResponse:
        """Submit, cancel, or change the settings of an unsubmitted job."""
        job = self.find(request)
        if isinstance(job, web.Response):
            return job
        body = await json_body(request)
        if body is NOT_JSON:
            return invalid("Invalid patch.", "body", "The body is not valid JSON.")
        new_state = body.get("state") if isinstance(body, dict) else None
        if new_state == "Active":
            if job["state"] != "unsubmitted":
                return invalid("Cannot submit job.", "state", f"The job is {job['state']}.")
            job["state"] = "active"
            job["executionInformation"] = {"submittedDateTime": now_timestamp()}
            self.catalog.progress[job["id"]] = 0
        elif new_state == "Cancelled":
            if job["state"] not in ("unsubmitted", "active"):
                return invalid("Cannot cancel job.", "state", f"The job is {job['state']}.")
            job["state"] = "cancelled"
        elif new_state is not None:
            return invalid("Invalid patch.", "state", f"Unknown state {new_state!r}.")
        elif job["state"] != "unsubmitted":
            return invalid("Cannot change job.", "settings", "Only unsubmitted jobs change.")
        else:
            _change_settings(job, body)
        job["lastModifiedDateTime"] = now_timestamp()
        return json_response({"job": job})

    async def delete(self, request: web.Request) -> web.StreamResponse:
        """Delete an unsubmitted job."""
        job = self.find(request)
        if isinstance(job, web.Response):
            return job
        if job["state"] != "unsubmitted":
            return invalid("Cannot delete job.", "state", "Only unsubmitted jobs can be deleted.")
        del self.catalog.jobs[job["id"]]
        return web.Response(status=204)

    async def progress(self, request: web.Request) -> web.StreamResponse:
        """Progress of a job; an active one advances a step per poll and then succeeds."""
        job = self.find(request)
        if isinstance(job, web.Response):
            return job
        if job["state"] == "unsubmitted":
            info: dict[str, Any] = {"percentage": 0, "state": "Unsubmitted", "step": ""}
        elif job["state"] == "active":
            done = min(100, self.catalog.progress.get(job["id"], 0) + self.config.progress_step)
            self.catalog.progress[job["id"]] = done
            if done >= 100:
                job["state"] = "success"
                job["executionInformation"]["endedDateTime"] = now_timestamp()
                for output in job["jobSettings"]["outputs"]:
                    output["id"] = self.catalog.new_id()
            info = {
                "percentage": float(done),
                "state": "Active" if done < 100 else "Over",
                "step": "Production" if done < 100 else "",
            }
        else:
            info = {"percentage": 100.0, "state": "Over", "step": ""}
        return json_response({"jobProgress": info})


def _change_settings(job: dict[str, Any], body: dict[str, Any]) -> None:
    settings = body.get("settings") or {}
    for key in ("quality", "processingEngines", "cacheSettings"):
        if key in settings:
            job["jobSettings"][key] = settings[key]
    if "outputs" in settings:
        job["jobSettings"]["outputs"] = _outputs(settings["outputs"])
    for key in ("costEstimationParameters", "type"):
        if key in body:
            job[key] = body[key]
