"""The emulated Bentley iTwin platform: IMS client-credentials tokens and Reality Modeling v1."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from . import respond
from .bentley_catalog import BentleyCatalog, now_timestamp
from .config import BentleyConfig
from .faults import FaultPlan
from .odata import FilterSyntaxError, compile_filter
from .reality import add_reality_routes
from .recording import RecordedRequest, recording_middleware
from .respond import guarded, json_response

API_PREFIX = "/contextcapture"
TOKEN_PATH = "/connect/token"  # noqa: S105 - a URL path
_ITWIN_EQ = re.compile(r"iTwinId\s+eq\s+'?([0-9A-Fa-f-]{36})'?")
RATE_LIMITED = {
    "error": {
        "code": "RateLimitExceeded",
        "message": "The client sent more requests than allowed by this API for the current"
        " tier of the client.",
    }
}


def bentley_error(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An error in the ``{"error": {code, message, details}}`` shape."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json_response({"error": error}, status=status, headers=headers)


def _invalid(
    message: str, target: str, detail: str, code: str = "InvalidParameter"
) -> web.Response:
    return bentley_error(
        422,
        "InvalidRealityModelingRequest",
        message,
        [{"code": code, "message": detail, "target": target}],
    )


@dataclass
class BentleyState:
    """Tokens issued and the catalog, shared by the handlers."""

    config: BentleyConfig
    catalog: BentleyCatalog
    faults: FaultPlan
    issued: dict[str, float] = field(default_factory=dict)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    tokens_issued: int = 0
    #: Where ``readaccess`` points, and for how long its SAS lives (tests may change both).
    blob_account_url: str | None = None
    sas_ttl: float = 3600.0

    def __post_init__(self) -> None:
        self.blob_account_url = self.config.blob_account_url
        self.sas_ttl = float(self.config.sas_ttl)

    def valid(self, token: str) -> bool:
        if token == self.config.token:
            return True
        expiry = self.issued.get(token)
        return expiry is not None and expiry > time.time()

    def continuation(self, filter_text: str, top: int, offset: int) -> str:
        mac = hmac.new(self.secret, f"{filter_text}\n{top}\n{offset}".encode(), hashlib.sha256)
        raw = f"{offset}:{mac.hexdigest()[:24]}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def offset_of(self, token: str, filter_text: str, top: int) -> int | None:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            offset = int(raw.split(":", 1)[0])
        except (ValueError, UnicodeDecodeError):
            return None
        return offset if self.continuation(filter_text, top, offset) == token else None


def bentley_app(state: BentleyState, log: list[RecordedRequest]) -> web.Application:
    """The aiohttp application of the Bentley host (IMS token endpoint and Reality Modeling)."""
    config, catalog, faults = state.config, state.catalog, state.faults

    def error_body(status: int) -> Any:
        if status == 429:
            return RATE_LIMITED
        return {"error": {"code": "InternalServerError", "message": "Internal error"}}

    async def misbehave(request: web.Request) -> web.StreamResponse | None:
        answer, _ = await respond.misbehave(request, faults, "api", error_body)
        return answer

    async def guard(request: web.Request) -> web.StreamResponse | None:
        early = await misbehave(request)
        if early is not None:
            return early
        header = request.headers.get("Authorization")
        if header is None:
            return bentley_error(
                401,
                "HeaderNotFound",
                "Header Authorization was not found in the request. Access denied.",
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not state.valid(token.strip()):
            return bentley_error(401, "InvalidToken", "The access token is invalid or has expired.")
        return None

    def find_job(job_id: str) -> dict[str, Any] | web.Response:
        job = catalog.jobs.get(job_id)
        if job is None:
            return bentley_error(404, "JobNotFound", "Requested job is not available.")
        return job

    async def token(request: web.Request) -> web.StreamResponse:
        early = await misbehave(request)
        if early is not None:
            return early
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, status=400)
        if (
            form.get("client_id") != config.client_id
            or form.get("client_secret") != config.client_secret
        ):
            return json_response({"error": "invalid_client"}, status=400)
        state.tokens_issued += 1
        access = f"emu-bentley-access-{state.tokens_issued}-{secrets.token_hex(8)}"
        state.issued[access] = time.time() + config.access_token_ttl
        return json_response(
            {
                "access_token": access,
                "expires_in": config.access_token_ttl,
                "token_type": "Bearer",
                "scope": str(form.get("scope", "")),
            }
        )

    async def list_jobs(request: web.Request) -> web.StreamResponse:
        query = request.query
        filter_text = query.get("$filter")
        if not filter_text:
            return _invalid("Cannot find jobs.", "$filter", "The $filter parameter is required.")
        top_text = query.get("$top", str(config.default_top))
        if not top_text.isdigit() or not 1 <= int(top_text) <= config.max_top:
            return _invalid(
                "Cannot find jobs.",
                "$Top",
                "The $top query parameter value must be a positive integer that does not"
                " exceed 1000.",
            )
        top = int(top_text)
        try:
            predicate = compile_filter(filter_text)
        except FilterSyntaxError as exc:
            return _invalid("Cannot find jobs.", "$filter", f"Invalid $filter: {exc}")
        itwin = _ITWIN_EQ.search(filter_text)
        if itwin and itwin.group(1).lower() not in catalog.itwins:
            return bentley_error(404, "iTwinNotFound", "Requested iTwin is not available.")
        offset = 0
        token = query.get("continuationToken")
        if token is not None:
            found = state.offset_of(token, filter_text, top)
            if found is None:
                return _invalid(
                    "Cannot find jobs.",
                    "continuationToken",
                    "The continuation token is invalid.",
                    code="InvalidContinuationToken",
                )
            offset = found
        mine = "iTwinId" in filter_text
        matching = [
            job
            for job in catalog.jobs.values()
            if (mine or job["email"] == config.email) and predicate(job)
        ]
        page = matching[offset : offset + top]
        body: dict[str, Any] = {"jobs": page}
        if offset + top < len(matching):
            params = {
                "$filter": filter_text,
                "$top": str(top),
                "continuationToken": state.continuation(filter_text, top, offset + top),
            }
            origin = f"{request.scheme}://{request.host}"
            body["_links"] = {
                "next": {"href": f"{origin}{API_PREFIX}/jobs?{urlencode(params, safe='$')}"}
            }
        return json_response(body)

    async def get_job(request: web.Request) -> web.StreamResponse:
        job = find_job(request.match_info["job_id"])
        return job if isinstance(job, web.Response) else json_response({"job": job})

    async def create_job(request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _invalid("Invalid job.", "body", "The body is not valid JSON.")
        if not isinstance(body, dict):
            return _invalid("Invalid job.", "body", "The body must be a JSON object.")
        missing = [
            k for k in ("type", "name", "workspaceId", "inputs", "settings") if k not in body
        ]
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
        workspace = catalog.workspaces.get(body["workspaceId"])
        if workspace is None:
            return bentley_error(404, "WorkspaceNotFound", "Requested workspace is not available.")
        settings = body["settings"]
        job: dict[str, Any] = {
            "id": catalog.new_id(),
            "name": body["name"],
            "type": body["type"],
            "state": "unsubmitted",
            "createdDateTime": now_timestamp(),
            "lastModifiedDateTime": now_timestamp(),
            "iTwinId": workspace.get("iTwinId"),
            "location": "East US",
            "email": config.email,
            "workspaceId": workspace["id"],
            "inputs": body["inputs"],
            "jobSettings": {
                "quality": settings.get("quality", "Medium"),
                "outputs": [{"format": f, "id": None} for f in settings.get("outputs", [])],
                "processingEngines": settings.get("processingEngines", 0),
                "cacheSettings": settings.get("cacheSettings", {"createCache": False}),
            },
        }
        if "costEstimationParameters" in body:
            job["costEstimationParameters"] = body["costEstimationParameters"]
        catalog.jobs[job["id"]] = job
        return json_response({"job": job}, status=201)

    async def patch_job(request: web.Request) -> web.StreamResponse:
        job = find_job(request.match_info["job_id"])
        if isinstance(job, web.Response):
            return job
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _invalid("Invalid patch.", "body", "The body is not valid JSON.")
        new_state = body.get("state") if isinstance(body, dict) else None
        if new_state == "Active":
            if job["state"] != "unsubmitted":
                return _invalid("Cannot submit job.", "state", f"The job is {job['state']}.")
            job["state"] = "active"
            job["executionInformation"] = {"submittedDateTime": now_timestamp()}
            catalog.progress[job["id"]] = 0
        elif new_state == "Cancelled":
            if job["state"] not in ("unsubmitted", "active"):
                return _invalid("Cannot cancel job.", "state", f"The job is {job['state']}.")
            job["state"] = "cancelled"
        elif new_state is not None:
            return _invalid("Invalid patch.", "state", f"Unknown state {new_state!r}.")
        elif job["state"] != "unsubmitted":
            return _invalid("Cannot change job.", "settings", "Only unsubmitted jobs change.")
        else:
            settings = body.get("settings") or {}
            for key in ("quality", "processingEngines", "cacheSettings"):
                if key in settings:
                    job["jobSettings"][key] = settings[key]
            if "outputs" in settings:
                job["jobSettings"]["outputs"] = [
                    {"format": f, "id": None} for f in settings["outputs"]
                ]
            for key in ("costEstimationParameters", "type"):
                if key in body:
                    job[key] = body[key]
        job["lastModifiedDateTime"] = now_timestamp()
        return json_response({"job": job})

    async def delete_job(request: web.Request) -> web.StreamResponse:
        job = find_job(request.match_info["job_id"])
        if isinstance(job, web.Response):
            return job
        if job["state"] != "unsubmitted":
            return _invalid("Cannot delete job.", "state", "Only unsubmitted jobs can be deleted.")
        del catalog.jobs[job["id"]]
        return web.Response(status=204)

    async def progress(request: web.Request) -> web.StreamResponse:
        job = find_job(request.match_info["job_id"])
        if isinstance(job, web.Response):
            return job
        percentage = 100.0
        if job["state"] == "unsubmitted":
            info = {"percentage": 0, "state": "Unsubmitted", "step": ""}
        elif job["state"] == "active":
            done = min(100, catalog.progress.get(job["id"], 0) + config.progress_step)
            catalog.progress[job["id"]] = done
            percentage = float(done)
            if done >= 100:
                job["state"] = "success"
                job["executionInformation"]["endedDateTime"] = now_timestamp()
                for output in job["jobSettings"]["outputs"]:
                    output["id"] = catalog.new_id()
            step = "Production" if done < 100 else ""
            info = {
                "percentage": percentage,
                "state": "Active" if done < 100 else "Over",
                "step": step,
            }
        else:
            info = {"percentage": percentage, "state": "Over", "step": ""}
        return json_response({"jobProgress": info})

    async def create_workspace(request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = None
        if not isinstance(body, dict) or not body.get("name"):
            return _invalid("Invalid workspace.", "name", "name is required")
        workspace = {
            "id": catalog.new_id(),
            "createdDateTime": now_timestamp(),
            "name": body["name"],
            "iTwinId": body.get("iTwinId", ""),
            "contextCaptureVersion": "22.0",
        }
        catalog.workspaces[workspace["id"]] = workspace
        return json_response({"workspace": workspace}, status=201)

    async def get_workspace(request: web.Request) -> web.StreamResponse:
        workspace = catalog.workspaces.get(request.match_info["workspace_id"])
        if workspace is None:
            return bentley_error(404, "WorkspaceNotFound", "Requested workspace is not available.")
        if request.method == "DELETE":
            del catalog.workspaces[workspace["id"]]
            return web.Response(status=204)
        return json_response({"workspace": copy.deepcopy(workspace)})

    async def engines(request: web.Request) -> web.StreamResponse:
        itwin = request.query.get("iTwinId", "")
        if itwin.lower() not in catalog.itwins:
            return bentley_error(404, "iTwinNotFound", "Requested iTwin is not available.")
        return json_response({"enginesLimit": {"maxEngines": 10}})

    app = web.Application(middlewares=[recording_middleware("bentley", log)])
    add_reality_routes(
        app,
        jobs=lambda: list(catalog.jobs.values()),
        guard=guard,
        error=lambda status, code, message: bentley_error(status, code, message),
        blob_account_url=lambda: state.blob_account_url,
        account=config.blob_account_name,
        key=config.blob_account_key,
        sas_ttl=lambda: state.sas_ttl,
    )
    app.router.add_post(TOKEN_PATH, token)
    app.router.add_get(f"{API_PREFIX}/jobs", guarded(guard, list_jobs))
    app.router.add_post(f"{API_PREFIX}/jobs", guarded(guard, create_job))
    app.router.add_get(f"{API_PREFIX}/jobs/{{job_id}}", guarded(guard, get_job))
    app.router.add_patch(f"{API_PREFIX}/jobs/{{job_id}}", guarded(guard, patch_job))
    app.router.add_delete(f"{API_PREFIX}/jobs/{{job_id}}", guarded(guard, delete_job))
    app.router.add_get(f"{API_PREFIX}/jobs/{{job_id}}/progress", guarded(guard, progress))
    app.router.add_post(f"{API_PREFIX}/workspaces", guarded(guard, create_workspace))
    app.router.add_get(f"{API_PREFIX}/workspaces/{{workspace_id}}", guarded(guard, get_workspace))
    app.router.add_delete(
        f"{API_PREFIX}/workspaces/{{workspace_id}}", guarded(guard, get_workspace)
    )
    app.router.add_get(f"{API_PREFIX}/limits/engines", guarded(guard, engines))
    return app
