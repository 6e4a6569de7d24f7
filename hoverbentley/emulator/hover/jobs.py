"""Hover's job list (v3 or v2 envelope) and job details v3."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from ..catalog import HoverCatalog
from ..config import EmulatorConfig
from ..respond import json_response
from .errors import hover_error, int_param


class Jobs:
    """``GET /api/v3/jobs`` and ``GET /api/v3/jobs/{job_id}``."""

    def __init__(self, config: EmulatorConfig, catalog: HoverCatalog) -> None:
        self.config = config
        self.catalog = catalog

    async def list(self, request: web.Request) -> web.StreamResponse:
        """One page of job summaries."""
        config, query = self.config, request.query
        page = max(1, int_param(query.get("page"), 1, "page"))
        size_text = query.get("per") or query.get("per_page") or query.get("page_size")
        per = min(
            max(1, int_param(size_text, config.default_page_size, "per")), config.max_page_size
        )
        since = query.get("updated_since")
        jobs = self.catalog.listed(
            archived=query.get("archived", "").lower() == "true",
            updated_since=float(since) if since else None,
            search=query.get("search"),
            states=query.getall("reconstruction_states[]", []),
        )
        total_pages = max(1, -(-len(jobs) // per))
        shown = [j.summary() for j in jobs[(page - 1) * per : page * per]]
        pagination: dict[str, Any] = {
            "current_page": page,
            "total_pages": total_pages,
            "total": len(jobs),
        }
        if config.list_envelope == "v3":
            pagination["next_page"] = page + 1 if page < total_pages else None
            return json_response({"pagination": pagination, "results": shown})
        meta = {"request_id": secrets.token_hex(6)}
        return json_response({"pagination": pagination, "results": shown, "meta": meta})

    async def get(self, request: web.Request) -> web.StreamResponse:
        """One job's details, URLs on this host."""
        job_id = request.match_info["job_id"]
        job = self.catalog.jobs.get(int(job_id)) if job_id.isdigit() else None
        if job is None:
            return hover_error(404, f"Job {job_id} not found")
        origin = f"{request.scheme}://{request.host}"
        return web.Response(body=job.render(origin), content_type="application/json")
