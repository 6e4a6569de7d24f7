"""The emulated Bentley iTwin platform: IMS tokens, Reality Modeling v1 and v2, Reality Analysis
v2, Reality Management, Webhooks v2 registrations."""

from __future__ import annotations

from aiohttp import web

from ..host import Handler, Host, bearer_token, host_app
from ..recording import RecordedRequest
from .errors import bentley_error, error_body
from .jobs import API_PREFIX, Jobs
from .reality import PREFIX as REALITY_PREFIX
from .reality import RealityData
from .state import BentleyState
from .tokens import TokenEndpoint
from .v2 import ACCEPT_V2, ANALYSIS_PREFIX, MODELING_PREFIX, V2Api, operation_not_found, wants_v2
from .webhooks import PREFIX as WEBHOOKS_PREFIX
from .webhooks import BentleyRegistration, BentleyWebhooks
from .workspaces import Workspaces

TOKEN_PATH = "/connect/token"  # noqa: S105 - a URL path
__all__ = [
    "ACCEPT_V2",
    "ANALYSIS_PREFIX",
    "API_PREFIX",
    "MODELING_PREFIX",
    "REALITY_PREFIX",
    "TOKEN_PATH",
    "WEBHOOKS_PREFIX",
    "BentleyApi",
    "BentleyRegistration",
    "BentleyState",
    "BentleyWebhooks",
    "bentley_app",
]


class BentleyApi:
    """The resources of the Bentley host, sharing one :class:`BentleyState`."""

    def __init__(self, state: BentleyState) -> None:
        self.state = state
        self.api = Host("bentley", "bentley", state.faults, error_body)
        self.reality_host = Host("reality", "bentley", state.faults, error_body)
        self.tokens = TokenEndpoint(state, Host("tokens", "bentley", state.faults, error_body))
        self.jobs = Jobs(state)
        self.workspaces = Workspaces(state.catalog)
        self.reality = RealityData(state)
        self.modeling = V2Api(MODELING_PREFIX, "Reality Modeling", state.modeling, state)
        self.analysis = V2Api(ANALYSIS_PREFIX, "Reality Analysis", state.analysis, state)
        self.webhooks = BentleyWebhooks()

    def authorize(self, request: web.Request) -> web.Response | None:
        """401 unless the request carries a valid bearer token."""
        token = bearer_token(request)
        if token is None:
            return bentley_error(
                401,
                "HeaderNotFound",
                "Header Authorization was not found in the request. Access denied.",
            )
        if not self.state.valid(token):
            return bentley_error(401, "InvalidToken", "The access token is invalid or has expired.")
        return None

    def authorize_v1(self, request: web.Request) -> web.Response | None:
        """With the v2 ``Accept``, a v1 route matches no operation; else :meth:`authorize`."""
        return operation_not_found() if wants_v2(request) else self.authorize(request)

    def authorize_v2(self, request: web.Request) -> web.Response | None:
        """A v2 route wants the v2 ``Accept`` (else no operation matches), then a token."""
        return self.authorize(request) if wants_v2(request) else operation_not_found()


def _name_of(request: web.Request) -> str:
    if request.path == TOKEN_PATH:
        return "tokens"
    return "reality" if request.path.startswith(REALITY_PREFIX) else "bentley"


def bentley_app(api: BentleyApi, log: list[RecordedRequest]) -> web.Application:
    """The aiohttp application of the Bentley host."""
    app = host_app("bentley", log, api.state.faults, _name_of)

    def guard(handler: Handler) -> Handler:
        return api.api.wrap(handler, api.authorize_v1)

    def guard_v2(handler: Handler) -> Handler:
        return api.api.wrap(handler, api.authorize_v2)

    def reality(handler: Handler) -> Handler:
        return api.reality_host.wrap(handler, api.authorize)

    jobs, workspaces = api.jobs, api.workspaces
    routes = [
        ("GET", f"{REALITY_PREFIX}/", reality(api.reality.list)),
        ("GET", f"{REALITY_PREFIX}/{{rd_id}}", reality(api.reality.get)),
        (
            "GET",
            f"{REALITY_PREFIX}/{{rd_id}}/readaccess",
            reality(api.reality.read_access),
        ),
        ("POST", TOKEN_PATH, api.tokens.host.wrap(api.tokens.post)),
        ("GET", f"{API_PREFIX}/jobs", guard(jobs.list)),
        ("POST", f"{API_PREFIX}/jobs", guard(jobs.create)),
        ("GET", f"{API_PREFIX}/jobs/{{job_id}}", guard(jobs.get)),
        ("PATCH", f"{API_PREFIX}/jobs/{{job_id}}", guard(jobs.patch)),
        ("DELETE", f"{API_PREFIX}/jobs/{{job_id}}", guard(jobs.delete)),
        ("GET", f"{API_PREFIX}/jobs/{{job_id}}/progress", guard(jobs.progress)),
        ("POST", f"{API_PREFIX}/workspaces", guard(workspaces.create)),
        (
            "GET",
            f"{API_PREFIX}/workspaces/{{workspace_id}}",
            guard(workspaces.get_or_delete),
        ),
        (
            "DELETE",
            f"{API_PREFIX}/workspaces/{{workspace_id}}",
            guard(workspaces.get_or_delete),
        ),
        ("GET", f"{API_PREFIX}/limits/engines", guard(workspaces.engines)),
    ]
    for v2 in (api.modeling, api.analysis):
        routes += [(method, path, guard_v2(handler)) for method, path, handler in v2.routes()]
    # Webhooks v2 recommends the v2 Accept type without requiring it: a bearer token only.
    routes += [
        (method, path, api.api.wrap(handler, api.authorize))
        for method, path, handler in api.webhooks.routes()
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    for prefix in (MODELING_PREFIX, ANALYSIS_PREFIX):
        # Last, so that a known path with an unknown method lands here too.
        app.router.add_route("*", prefix, api.api.wrap(api.modeling.not_found))
        app.router.add_route("*", f"{prefix}/{{tail:.*}}", api.api.wrap(api.modeling.not_found))
    return app
