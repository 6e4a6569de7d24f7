"""Reality Modeling v2 (``/reality-modeling``) and Reality Analysis v2 (``/reality-analysis``).

One template for both: create (and start), get, cancel (``DELETE``), progress, messages, list
with the v2 ``$filter`` grammar, the iTwin's bucket, preset files; detectors for Analysis.
Every route wants the v2 ``Accept`` type; a wrong one, or an unknown route, is a 404
``ResourceNotFound`` as the service's gateway words it.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from ..odata import FilterSyntaxError, compile_filter
from ..respond import json_response
from .errors import bentley_error
from .jobs import NOT_JSON, json_body
from .state import BentleyState
from .v2_create import Refused, check_creation, is_guid
from .v2_presets import DETECTORS, FILES
from .v2_store import V2Job, V2Store

ACCEPT_V1 = "application/vnd.bentley.itwin-platform.v1+json"
ACCEPT_V2 = "application/vnd.bentley.itwin-platform.v2+json"
MODELING_PREFIX = "/reality-modeling"
ANALYSIS_PREFIX = "/reality-analysis"


def bucket_container(itwin: str) -> str:
    """The blob container of an iTwin's bucket."""
    return f"bucket-{itwin.lower()}"


def operation_not_found() -> web.Response:
    """The gateway's 404 for a route or ``Accept`` that matches no operation."""
    return bentley_error(
        404,
        "ResourceNotFound",
        "The requested resource was not found. Verify the API URL and the Accept header.",
        [
            {
                "code": "OperationNotFound",
                "message": "Unable to match incoming request to an operation.",
            }
        ],
    )


def wants_v2(request: web.Request) -> bool:
    """Whether the request's ``Accept`` names the v2 type."""
    return ACCEPT_V2 in request.headers.get("Accept", "")


class V2Api:
    """The routes of one v2 API over its :class:`V2Store`."""

    def __init__(self, prefix: str, product: str, store: V2Store, state: BentleyState) -> None:
        self.prefix = prefix
        self.product = product
        self.code = f"Invalid{product.replace(' ', '')}Request"
        self.store = store
        self.state = state

    def _error(
        self, status: int, message: str, code: str, target: str, detail: str
    ) -> web.Response:
        return bentley_error(
            status, self.code, message, [{"code": code, "message": detail, "target": target}]
        )

    def _find(self, request: web.Request, progress: bool = False) -> V2Job | web.Response:
        job = self.store.get(request.match_info["job_id"])
        if job is not None:
            return job
        if progress:
            return bentley_error(
                404, "JobProgressNotFound", "Requested job progress is not available."
            )
        return bentley_error(404, "JobNotFound", "Requested job is not available.")

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        """Any request no operation matches."""
        return operation_not_found()

    async def create(self, request: web.Request) -> web.StreamResponse:
        """``POST /jobs``: 201 with the job, started, its output locations filled in."""
        body = await json_body(request)
        try:
            if body is NOT_JSON:
                raise Refused("body", "The body is not valid JSON.")
            job_type, creation = check_creation(body, self.store.types)
        except Refused as refused:
            return self._error(
                400,
                f"Invalid request to {self.product}.",
                "InvalidProperty",
                refused.target,
                refused.message,
            )
        if creation["iTwinId"].lower() not in self.state.catalog.itwins:
            return bentley_error(404, "iTwinNotFound", "Requested iTwin is not available.")
        job = self.store.create(job_type, creation, str(uuid.uuid4()))
        return json_response({"job": job.wire}, status=201)

    async def get(self, request: web.Request) -> web.StreamResponse:
        """``GET /jobs/{id}``."""
        job = self._find(request)
        return job if isinstance(job, web.Response) else json_response({"job": job.wire})

    async def cancel(self, request: web.Request) -> web.StreamResponse:
        """``DELETE /jobs/{id}``: 200 and ``TerminatingOnCancel``, or 422 ``InvalidChange``."""
        job = self._find(request)
        if isinstance(job, web.Response):
            return job
        refusal = self.store.cancel(job)
        if refusal is not None:
            return self._error(
                422, f"Invalid request to {self.product}.", "InvalidChange", "", refusal
            )
        return json_response({"job": job.wire})

    async def progress(self, request: web.Request) -> web.StreamResponse:
        """``GET /jobs/{id}/progress``."""
        job = self._find(request, progress=True)
        if isinstance(job, web.Response):
            return job
        percentage = round(job.percent, 2)
        return json_response({"progress": {"percentage": percentage, "state": job.state}})

    async def messages(self, request: web.Request) -> web.StreamResponse:
        """``GET /jobs/{id}/messages``: errors and warnings."""
        job = self._find(request)
        if isinstance(job, web.Response):
            return job
        return json_response({"messages": job.messages})

    async def list_jobs(self, request: web.Request) -> web.StreamResponse:
        """``GET /jobs``: a page of the jobs matching ``$filter`` (v2 grammar), a next link."""
        query, config = request.query, self.state.config
        filter_text = query.get("$filter")
        if not filter_text:
            return self._error(
                400,
                "Cannot find jobs.",
                "InvalidParameter",
                "$filter",
                "The $filter parameter is required.",
            )
        top_text = query.get("$top", str(config.default_top))
        if not top_text.isdigit() or not 1 <= int(top_text) <= config.max_top:
            return self._error(
                400,
                "Cannot find jobs.",
                "InvalidParameter",
                "$Top",
                "The $top query parameter value must be a positive integer that does not"
                " exceed 1000.",
            )
        top = int(top_text)
        try:
            predicate = compile_filter(filter_text, "v2")
        except FilterSyntaxError as exc:
            return self._error(
                400,
                "Cannot find jobs.",
                "InvalidParameter",
                "$filter",
                f"$filter contains an invalid or unsupported statement: {exc}",
            )
        itwins = _itwins_named(filter_text)
        if any(i not in self.state.catalog.itwins for i in itwins):
            return bentley_error(404, "iTwinNotFound", "Requested iTwin is not available.")
        key = f"{self.prefix}\n{filter_text}"
        offset = 0
        if (token := query.get("continuationToken")) is not None:
            found = self.state.offset_of(token, key, top)
            if found is None:
                return self._error(
                    400,
                    "Cannot find jobs.",
                    "InvalidParameter",
                    "continuationToken",
                    "The continuation token is invalid.",
                )
            offset = found
        mine = bool(itwins)
        matching = [
            job.wire
            for job in self.store.all()
            if (mine or job.email == config.email) and predicate(job.filter_view())
        ]
        body: dict[str, Any] = {"jobs": matching[offset : offset + top]}
        if offset + top < len(matching):
            body["_links"] = self.state.next_page(
                request, self.prefix, key, filter_text, top, offset + top
            )
        return json_response(body)

    async def bucket(self, request: web.Request) -> web.StreamResponse:
        """``GET /itwins/{iTwinId}/bucket``: a SAS URL of the iTwin's container."""
        itwin = request.match_info["itwin_id"].lower()
        if itwin not in self.state.catalog.itwins:
            return bentley_error(404, "iTwinNotFound", "Requested iTwin is not available.")
        url = self.state.read_sas(bucket_container(itwin))
        if url is None:
            return bentley_error(503, "StorageUnavailable", "No blob storage is configured.")
        return json_response(
            {"bucket": {"iTwinId": itwin}, "_links": {"containerUrl": {"href": url}}}
        )

    async def files(self, request: web.Request) -> web.StreamResponse:
        """``GET /files``: the preset files."""
        return json_response({"files": FILES})

    async def detectors(self, request: web.Request) -> web.StreamResponse:
        """``GET /detectors`` (Reality Analysis): every detector, without its versions."""
        listed = [{k: v for k, v in d.items() if k != "versions"} for d in DETECTORS.values()]
        return json_response({"detectors": listed})

    async def detector(self, request: web.Request) -> web.StreamResponse:
        """``GET /detectors/{name}`` (Reality Analysis), with its versions."""
        found = DETECTORS.get(unquote(request.match_info["name"]))
        if found is None:
            return bentley_error(404, "DetectorNotFound", "Requested detector is not available.")
        return json_response({"detector": found})

    def routes(self) -> list[tuple[str, str, Any]]:
        """(method, path, handler) of every operation of this API."""
        p = self.prefix
        routes = [
            ("POST", f"{p}/jobs", self.create),
            ("GET", f"{p}/jobs", self.list_jobs),
            ("GET", f"{p}/jobs/{{job_id}}", self.get),
            ("DELETE", f"{p}/jobs/{{job_id}}", self.cancel),
            ("GET", f"{p}/jobs/{{job_id}}/progress", self.progress),
            ("GET", f"{p}/jobs/{{job_id}}/messages", self.messages),
            ("GET", f"{p}/itwins/{{itwin_id}}/bucket", self.bucket),
            ("GET", f"{p}/files", self.files),
        ]
        if p == ANALYSIS_PREFIX:
            routes += [
                ("GET", f"{p}/detectors", self.detectors),
                ("GET", f"{p}/detectors/{{name:.+}}", self.detector),
            ]
        return routes


def _itwins_named(filter_text: str) -> list[str]:
    """The iTwin ids an ``iTwinId eq ...`` term names."""
    words = filter_text.replace("(", " ").replace(")", " ").split()
    out = []
    for n, word in enumerate(words[:-2]):
        if word == "iTwinId" and words[n + 1] == "eq":
            value = words[n + 2].strip("'").lower()
            if is_guid(value):
                out.append(value)
    return out
