"""The emulated Hover API host: OAuth, job list, job details v3, artifact and image redirects."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import respond
from .catalog import CANONICAL_HOST, USER_PARAMS, HoverCatalog, file_key
from .config import EmulatorConfig
from .faults import FaultPlan
from .recording import RecordedRequest, recording_middleware
from .respond import guarded, json_response
from .storage import Signer, serve_content


@dataclass
class HoverAccounts:
    """Access tokens issued, and the one refresh token that is valid now."""

    config: EmulatorConfig
    refresh_token: str = ""
    issued: dict[str, float] = field(default_factory=dict)
    refreshes: int = 0

    def __post_init__(self) -> None:
        self.refresh_token = self.config.refresh_token

    def valid(self, token: str) -> bool:
        if token == self.config.token:
            return True
        expiry = self.issued.get(token)
        return expiry is not None and expiry > time.time()

    def rotate(self) -> dict[str, Any]:
        """Issue a new access token and a new single-use refresh token."""
        self.refreshes += 1
        access = f"emu-access-{self.refreshes}-{secrets.token_hex(8)}"
        self.refresh_token = f"emu-refresh-{self.refreshes}-{secrets.token_hex(8)}"
        self.issued[access] = time.time() + self.config.access_token_ttl
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.config.access_token_ttl,
            "refresh_token": self.refresh_token,
            "scope": "public",
            "created_at": int(time.time()),
            "owner_id": 1001,
            "owner_type": "User",
        }

    def expire_all(self) -> None:
        """Make every issued access token invalid (as if two hours had passed)."""
        self.issued.clear()


@dataclass
class HoverState:
    """What the Hover host needs at run time."""

    config: EmulatorConfig
    catalog: HoverCatalog
    accounts: HoverAccounts
    signer: Signer
    faults: FaultPlan
    storage_url: str = ""


def _error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status=status)


def _int(value: str | None, default: int, name: str) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise web.HTTPUnprocessableEntity(
            text=json.dumps({"error": f"{name} must be an integer"}),
            content_type="application/json",
        ) from None


def hover_app(state: HoverState, log: list[RecordedRequest]) -> web.Application:
    """The aiohttp application of the Hover API host."""
    config, catalog, faults = state.config, state.catalog, state.faults

    async def misbehave(request: web.Request) -> web.StreamResponse | None:
        answer, _ = await respond.misbehave(
            request,
            faults,
            "api",
            lambda status: {"error": "Rate Limit Exceeded" if status == 429 else "Error"},
            config.api_latency,
        )
        return answer

    def authorize(request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not state.accounts.valid(token.strip()):
            return _error(401, "The access token is invalid or has expired")
        email = request.query.get("current_user_email")
        user_id = request.query.get("current_user_id")
        if email is None and user_id is None:
            return _error(422, "current_user_id or current_user_email is required")
        known = (email is not None and email in config.user_emails) or (
            user_id is not None and user_id.isdigit() and int(user_id) in config.user_ids
        )
        if not known:
            return _error(403, "The current user has no access to this organization")
        return None

    async def guard(request: web.Request) -> web.StreamResponse | None:
        return await misbehave(request) or authorize(request)

    async def token(request: web.Request) -> web.StreamResponse:
        early = await misbehave(request)
        if early is not None:
            return early
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                return _error(400, "invalid_request")
        else:
            body = dict(await request.post())
        if not isinstance(body, dict) or body.get("grant_type") != "refresh_token":
            return json_response({"error": "unsupported_grant_type"}, status=400)
        if (
            body.get("client_id") != config.client_id
            or body.get("client_secret") != config.client_secret
        ):
            return json_response({"error": "invalid_client"}, status=401)
        if body.get("refresh_token") != state.accounts.refresh_token:
            return json_response(
                {
                    "error": "invalid_grant",
                    "error_description": "The provided authorization grant is invalid,"
                    " expired, revoked or was issued to another client.",
                },
                status=400,
            )
        return json_response(state.accounts.rotate())

    async def list_jobs(request: web.Request) -> web.StreamResponse:
        query = request.query
        page = max(1, _int(query.get("page"), 1, "page"))
        size_text = query.get("per") or query.get("per_page") or query.get("page_size")
        per = min(max(1, _int(size_text, config.default_page_size, "per")), config.max_page_size)
        since = query.get("updated_since")
        jobs = catalog.listed(
            archived=query.get("archived", "").lower() == "true",
            updated_since=float(since) if since else None,
            search=query.get("search"),
            states=query.getall("reconstruction_states[]", []),
        )
        total_pages = max(1, -(-len(jobs) // per))
        shown = jobs[(page - 1) * per : page * per]
        pagination: dict[str, Any] = {
            "current_page": page,
            "total_pages": total_pages,
            "total": len(jobs),
        }
        if config.list_envelope == "v3":
            pagination["next_page"] = page + 1 if page < total_pages else None
            return json_response(
                {"pagination": pagination, "results": [j.summary() for j in shown]}
            )
        return json_response(
            {
                "pagination": pagination,
                "results": [j.summary() for j in shown],
                "meta": {"request_id": secrets.token_hex(6)},
            }
        )

    async def get_job(request: web.Request) -> web.StreamResponse:
        job_id = request.match_info["job_id"]
        job = catalog.jobs.get(int(job_id)) if job_id.isdigit() else None
        if job is None:
            return _error(404, f"Job {job_id} not found")
        origin = f"{request.scheme}://{request.host}"
        return web.Response(body=job.render(origin), content_type="application/json")

    async def get_file(request: web.Request) -> web.StreamResponse:
        entry = catalog.files.get(file_key(request.path_qs))
        if entry is None or not entry.available:
            return _error(404, "Not Found")
        if config.redirect_files:
            location = state.signer.sign(state.storage_url, entry.file_id, entry.name)
            raise web.HTTPFound(location)
        return await serve_content(
            request, entry.content(), entry.content_type, config, faults, target="api"
        )

    async def files(request: web.Request) -> web.StreamResponse:
        origin = f"{request.scheme}://{request.host}"
        out = [
            {
                "url": entry.url.replace(CANONICAL_HOST, origin),
                "job_id": job_id,
                "model_id": model_id,
                "category": entry.category,
                "size": entry.size,
                "sha256": entry.content().sha256,
                "etag": entry.content().etag,
            }
            for job_id, model_id, entry in catalog.files_of()
        ]
        return json_response({"files": out, "user_params": list(USER_PARAMS)})

    app = web.Application(middlewares=[recording_middleware("hover", log)])
    app.router.add_post("/oauth/token", token)
    app.router.add_get("/api/v3/jobs", guarded(guard, list_jobs))
    app.router.add_get("/api/v3/jobs/{job_id}", guarded(guard, get_job))
    app.router.add_get("/api/v3/models/{model_id}/artifacts/{name}", guarded(guard, get_file))
    app.router.add_get("/api/v2/images/{image_id}/{name}", guarded(guard, get_file))
    app.router.add_get("/_emulator/files", files)
    return app
