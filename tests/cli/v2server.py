"""A small Reality Modeling v2 service on loopback, for CLI tests that need one answer shaped
just so (a refused cancellation, a job that fails with messages); it records each request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support import serve_in_thread

ACCEPT_V2 = "application/vnd.bentley.itwin-platform.v2+json"
TOKEN = "v2-test-token"
ITWIN = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


@dataclass
class Seen:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: Any = None


@dataclass
class V2Service:
    """Jobs by id; ``progress[id]`` is what successive progress polls answer (the last one
    repeats); ``refuse_cancel`` holds the jobs too close to their end to cancel."""

    url: str = ""
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    progress: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    messages: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    refuse_cancel: set[str] = field(default_factory=set)
    seen: list[Seen] = field(default_factory=list)

    def add_job(self, job_id: str, state: str = "Active", **extra: Any) -> dict[str, Any]:
        job = {
            "id": job_id,
            "type": "Reconstruction",
            "name": f"job {job_id[:8]}",
            "iTwinId": ITWIN,
            "state": state,
            "userId": "911edf8b-0000-4000-8000-000000000000",
            "executionInfo": {"createdDateTime": "2025-03-10T11:30:00Z"},
            "specifications": {
                "inputs": {"scene": "7e8bd05b-0000-4000-8000-000000000000"},
                "outputs": {
                    "modelingReference": {"location": "1aee1cb3-0000-4000-8000-000000000000"},
                    "exports": [
                        {"location": "9d9da8fa-0000-4000-8000-000000000000", "format": "3DTiles"}
                    ],
                },
            },
            **extra,
        }
        self.jobs[job_id] = job
        return job

    def requests(self, method: str, fragment: str = "") -> list[Seen]:
        return [s for s in self.seen if s.method == method and fragment in s.path_qs]


def _error(status: int, code: str, message: str, detail: str | None = None) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if detail:
        error["details"] = [{"code": detail, "message": message}]
    return web.json_response({"error": error}, status=status)


def _app(service: V2Service) -> web.Application:
    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        service.seen.append(
            Seen(
                request.method,
                request.path_qs,
                dict(request.headers),
                json.loads(body) if body else None,
            )
        )
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _error(401, "HeaderNotFound", "Header Authorization was not found.")
        if request.headers.get("Accept") != ACCEPT_V2:
            return _error(404, "ResourceNotFound", "Verify the API URL and the Accept header.")
        response: web.StreamResponse = await handler(request)
        return response

    def job_of(request: web.Request) -> dict[str, Any] | web.Response:
        job = service.jobs.get(request.match_info["job_id"])
        if job is None:
            return _error(404, "JobNotFound", "Requested job is not available.")
        return job

    async def list_jobs(request: web.Request) -> web.Response:
        return web.json_response({"jobs": list(service.jobs.values())})

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        job_id = f"00000000-0000-4000-8000-{len(service.jobs) + 1:012d}"
        job = service.add_job(job_id, **{k: v for k, v in body.items() if k != "specifications"})
        job["specifications"]["inputs"] = body["specifications"]["inputs"]
        return web.json_response({"job": job}, status=201)

    async def get(request: web.Request) -> web.Response:
        job = job_of(request)
        return job if isinstance(job, web.Response) else web.json_response({"job": job})

    async def cancel(request: web.Request) -> web.Response:
        job = job_of(request)
        if isinstance(job, web.Response):
            return job
        if job["id"] in service.refuse_cancel:
            return _error(
                422,
                "InvalidRealityModelingRequest",
                "The job is about to complete. Cancellation is not allowed during this period.",
                "InvalidChange",
            )
        job["state"] = "TerminatingOnCancel"
        return web.json_response({"job": job})

    async def progress(request: web.Request) -> web.Response:
        job = job_of(request)
        if isinstance(job, web.Response):
            return job
        steps = service.progress.get(job["id"]) or [(100.0, job["state"])]
        percentage, state = steps.pop(0) if len(steps) > 1 else steps[0]
        job["state"] = state
        return web.json_response({"progress": {"percentage": percentage, "state": state}})

    async def messages(request: web.Request) -> web.Response:
        job = job_of(request)
        if isinstance(job, web.Response):
            return job
        found = service.messages.get(job["id"], {"errors": [], "warnings": []})
        return web.json_response({"messages": found})

    app = web.Application(middlewares=[record])
    prefix = "/reality-modeling"
    app.router.add_get(f"{prefix}/jobs", list_jobs)
    app.router.add_post(f"{prefix}/jobs", create)
    app.router.add_get(f"{prefix}/jobs/{{job_id}}", get)
    app.router.add_delete(f"{prefix}/jobs/{{job_id}}", cancel)
    app.router.add_get(f"{prefix}/jobs/{{job_id}}/progress", progress)
    app.router.add_get(f"{prefix}/jobs/{{job_id}}/messages", messages)
    return app


@contextmanager
def v2_service() -> Iterator[V2Service]:
    """A running :class:`V2Service`; its ``url`` is the Reality Modeling v2 base URL."""
    service = V2Service()
    with serve_in_thread(_app(service)) as url:
        service.url = f"{url}/reality-modeling"
        yield service
