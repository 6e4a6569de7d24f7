"""The emulated Hover API host: OAuth, job list, job details v3, artifact and image redirects,
webhook registrations."""

from __future__ import annotations

from aiohttp import web

from ..catalog import HoverCatalog
from ..config import EmulatorConfig
from ..faults import FaultPlan
from ..host import Host, bearer_token, host_app
from ..recording import RecordedRequest
from ..storage import Signer, injected_error
from .accounts import HoverAccounts, TokenEndpoint
from .errors import error_body, hover_error
from .files import Files
from .jobs import Jobs
from .webhooks import PATH as WEBHOOKS_PATH
from .webhooks import HoverRegistration, HoverWebhooks

__all__ = ["HoverAccounts", "HoverApi", "HoverRegistration", "HoverWebhooks", "hover_app"]
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path


class HoverApi:
    """The resources of the Hover host, wired to one catalog and one set of accounts."""

    def __init__(
        self,
        config: EmulatorConfig,
        catalog: HoverCatalog,
        accounts: HoverAccounts,
        signer: Signer,
        faults: FaultPlan,
    ) -> None:
        self.config = config
        self.accounts = accounts
        self.api = Host("hover", "hover", faults, error_body, lambda: config.api_latency)
        tokens = Host("tokens", "hover", faults, error_body, lambda: config.api_latency)
        self.tokens = TokenEndpoint(accounts, tokens)
        self.jobs = Jobs(config, catalog)
        self.webhooks = HoverWebhooks(config)
        self.files = Files(config, catalog, signer, Host("hover", "hover", faults, injected_error))

    def authorize(self, request: web.Request) -> web.Response | None:
        """401 without a valid token, 422/403 without a known current user."""
        config = self.config
        token = bearer_token(request)
        if not token or not self.accounts.valid(token):
            return hover_error(401, "The access token is invalid or has expired")
        email = request.query.get("current_user_email")
        user_id = request.query.get("current_user_id")
        if email is None and user_id is None:
            return hover_error(422, "current_user_id or current_user_email is required")
        known = (email is not None and email in config.user_emails) or (
            user_id is not None and user_id.isdigit() and int(user_id) in config.user_ids
        )
        if not known:
            return hover_error(403, "The current user has no access to this organization")
        return None


def _name_of(request: web.Request) -> str:
    return "tokens" if request.path == TOKEN_PATH else "hover"


def hover_app(api: HoverApi, log: list[RecordedRequest]) -> web.Application:
    """The aiohttp application of the Hover API host."""
    host = api.api
    app = host_app("hover", log, api.api.faults, _name_of)
    app.router.add_post(TOKEN_PATH, api.tokens.host.wrap(api.tokens.post))
    app.router.add_get("/api/v3/jobs", host.wrap(api.jobs.list, api.authorize))
    app.router.add_get("/api/v3/jobs/{job_id}", host.wrap(api.jobs.get, api.authorize))
    files = host.wrap(api.files.get, api.authorize)
    app.router.add_get("/api/v3/models/{model_id}/artifacts/{name}", files)
    app.router.add_get("/api/v2/images/{image_id}/{name}", files)
    hooks = api.webhooks
    app.router.add_post(WEBHOOKS_PATH, host.wrap(hooks.create, api.authorize))
    app.router.add_get(WEBHOOKS_PATH, host.wrap(hooks.list, api.authorize))
    app.router.add_delete(f"{WEBHOOKS_PATH}/{{webhook_id}}", host.wrap(hooks.delete, api.authorize))
    # The documentation: confirming a verification code needs no authentication.
    app.router.add_put(f"{WEBHOOKS_PATH}/{{code}}/verify", host.wrap(hooks.verify))
    app.router.add_get("/_emulator/files", api.files.expected)
    return app
