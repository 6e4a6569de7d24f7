"""``hoverbentley serve OUT``: keep an archive current from Hover and Bentley webhooks.

Credentials and webhook secrets come from the environment or a profile (the ``HOVER_*`` and
``BENTLEY_*`` variables of the ``hover`` and ``bentley`` commands, else the profile's settings;
the secrets from ``HOVER_WEBHOOK_SECRET`` and ``BENTLEY_WEBHOOK_SECRET``, the variables the
flags name, or those the profile's ``webhook_secret_env`` names), never from a flag's value.
SIGTERM drains: deliveries and ``/readyz`` are answered 503 at once, the run under way gets
``--drain-timeout`` seconds (then it is stopped, its files kept for the next start), the
listener closes and the command exits 0.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from typing import Any

from ..bentley.auth import IMS_TOKEN_URL
from ..bentley.defaults import REALITY_DATA_URL as REALITY_BASE_URL
from ..errors import ConfigurationError
from ..hover.defaults import DEFAULT_BASE_URL as HOVER_URL
from ..serve.defaults import MAX_ATTEMPTS, MAX_RETRY_DELAY, RETRY_DELAY
from .common import env
from .hover_api import DEFAULT_TOKEN_FILE
from .options import add_http_options, add_run_options
from .precedence import unflagged
from .profiles import chosen, load
from .settings import (
    BentleyAccount,
    BentleyWebhooksAccount,
    Handler,
    HoverAccount,
    HttpSettings,
    Output,
    concern_of,
    non_negative_number,
    port,
    positive_int,
    positive_seconds,
)

logger = logging.getLogger("hoverbentley.serve")

HOVER_SECRET_VARIABLE = "HOVER_WEBHOOK_SECRET"  # noqa: S105 - a variable's name
BENTLEY_SECRET_VARIABLE = "BENTLEY_WEBHOOK_SECRET"  # noqa: S105 - a variable's name
#: Where the journal lives in a local OUT.
STATE_DIR = ".hoverbentley/serve"


@dataclass(frozen=True)
class ServeCommand:
    """``serve OUT``: where to listen, the journal, the sweep, the secrets' variables."""

    out: str
    profile: str | None
    host: str
    port: int
    state_dir: str | None
    sweep_interval: float
    drain_timeout: float
    queue_size: int
    job_attempts: int
    register: str | None
    public_url: str | None
    hover_secret_env: str
    bentley_secret_env: str
    hover_secret_file: str | None
    bentley_filter: str | None
    takeoff: bool
    concurrency: int
    detail_concurrency: int
    retries: int
    http: HttpSettings
    output: Output


_HOVER_FIELDS = (
    "token",
    "client_id",
    "client_secret",
    "refresh_token",
    "token_store",
    "current_user_email",
    "current_user_id",
)


@dataclass(frozen=True)
class Credentials:
    """The Hover and Bentley settings ``serve`` runs with: each from its variable, else from
    the profile (``--profile`` or ``HOVERBENTLEY_PROFILE``), as the ``hover`` and ``bentley``
    commands take them when no flag is given (``serve`` has not their flags: they would
    collide)."""

    hover: dict[str, Any]
    bentley: dict[str, Any]
    #: The profile's Bentley base URLs, by variable.
    urls: dict[str, str]

    @classmethod
    def read(cls, profile: str | None) -> Credentials:
        name, _ = chosen(profile)
        loaded = load(name) if name else None
        hover, _ = unflagged("hover", loaded)
        bentley, urls = unflagged("bentley", loaded)
        return cls(hover, bentley, urls)

    def hover_account(self) -> HoverAccount:
        given = {name: self.hover.get(name) for name in _HOVER_FIELDS}
        given["token_file"] = self.hover.get("token_file") or DEFAULT_TOKEN_FILE
        given["base_url"] = self.hover.get("base_url") or HOVER_URL
        account: HoverAccount = concern_of(HoverAccount, given)
        return account

    def _bentley(self, api: str, service: str) -> dict[str, Any]:
        return {
            "api": api,
            "service": service,
            "base_url": None,  # the API's own variable, the profile's, then Bentley's URL
            "token": self.bentley.get("token"),
            "client_id": self.bentley.get("client_id"),
            "client_secret": self.bentley.get("client_secret"),
            "token_url": self.bentley.get("token_url") or IMS_TOKEN_URL,
            "reality_url": self.bentley.get("reality_url") or REALITY_BASE_URL,
        }

    def bentley_account(self, api: str, service: str) -> BentleyAccount:
        account: BentleyAccount = concern_of(BentleyAccount, self._bentley(api, service), self.urls)
        return account

    def webhooks_account(self) -> BentleyWebhooksAccount:
        account: BentleyWebhooksAccount = concern_of(
            BentleyWebhooksAccount, self._bentley("v2", "modeling")
        )
        return account

    @property
    def bentley_api(self) -> str:
        """The API of the Bentley catch-up sweep (``BENTLEY_API``, the profile's ``api``)."""
        return str(self.bentley.get("api") or "v1")

    def webhook_secret(self, provider: str, variable: str) -> str | None:
        """The webhook secret in ``variable``; for the default variable, when it is not set,
        the one in the variable the profile's ``webhook_secret_env`` names."""
        what = provider.capitalize()
        value = _secret(variable, what)
        default = HOVER_SECRET_VARIABLE if provider == "hover" else BENTLEY_SECRET_VARIABLE
        if value is None and variable == default:
            given = self.hover if provider == "hover" else self.bentley
            named = given.get("webhook_secret")
            if named is not None and not str(named).strip():
                raise ConfigurationError(f"the {what} webhook secret of the profile is blank")
            value = str(named).strip() if named else None
        return value


def _secret(variable: str, what: str) -> str | None:
    value = env(variable)
    if value is not None and not value.strip():
        raise ConfigurationError(f"{variable} is blank: the {what} webhook secret is empty")
    return value.strip() if value else None


async def cmd_serve(s: ServeCommand) -> int:
    # The HTTP server and both providers' clients load when the command runs, not when its
    # flags are parsed.
    from .serve_run import serve

    return await serve(s)


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``serve OUT``."""
    parser = subparsers.add_parser(
        "serve",
        parents=[common],
        help="keep an archive current: receive Hover and Bentley webhooks and archive each job",
        description="Run a web service that receives Hover and Bentley webhooks at"
        " POST /hooks/hover and /hooks/bentley, journals each verified event (fsynced before"
        " the answer) and archives its job into OUT as 'hover archive' and 'bentley archive'"
        " do; GET /healthz, /readyz and /metrics (Prometheus). A '--since last' catch-up sweep"
        " runs at start and every --sweep-interval. Credentials come from the HOVER_* and"
        " BENTLEY_* variables or the --profile's settings, the webhook secrets from"
        " HOVER_WEBHOOK_SECRET and BENTLEY_WEBHOOK_SECRET or the variables the profile names"
        " (never from flags); a provider without a secret is not served."
        " SIGTERM drains and exits 0. Exit status: 2 for usage errors, 1 when it cannot start.",
    )
    parser.add_argument(
        "out",
        metavar="OUT",
        help="archive directory, or s3://BUCKET/PREFIX or az://CONTAINER/PREFIX (needs"
        " --state-dir)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=port, default=8080, help="port to listen on (default 8080; 0: any free one)"
    )
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help=f"where the journal is kept (default OUT/{STATE_DIR}; required for an object store"
        " OUT)",
    )
    parser.add_argument(
        "--sweep-interval",
        type=non_negative_number,
        default=3600.0,
        metavar="S",
        help="seconds between '--since last' catch-up sweeps, the first at start (default 3600;"
        " 0: only events)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=positive_seconds,
        default=30.0,
        metavar="S",
        help="on SIGTERM, seconds the run under way may take to finish before it is stopped"
        " (its files are resumed at the next start; default 30)",
    )
    parser.add_argument(
        "--queue-size",
        type=positive_int,
        default=1000,
        metavar="N",
        help="jobs that may wait to be archived; an event beyond is answered 503 with"
        " Retry-After, not journaled, and the provider's retry brings it back (default 1000)",
    )
    parser.add_argument(
        "--job-attempts",
        type=positive_int,
        default=MAX_ATTEMPTS,
        metavar="N",
        help="times a job whose archive failed is tried before it is recorded as failed (log,"
        " metric and journal); the pause between doubles from"
        f" {RETRY_DELAY:.0f} s up to {MAX_RETRY_DELAY:.0f} s"
        f" (default {MAX_ATTEMPTS})",
    )
    parser.add_argument(
        "--register",
        metavar="PUBLIC_URL",
        help="at start, register the webhooks PUBLIC_URL/hooks/hover and PUBLIC_URL/hooks/bentley"
        " where none is, activate the Bentley one and confirm Hover's verification code",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the public base URL the Hover webhook was registered with, whose path Hover signs"
        " (default: --register's; else the path /hooks/hover)",
    )
    parser.add_argument(
        "--hover-secret-env",
        default=HOVER_SECRET_VARIABLE,
        metavar="NAME",
        help="the variable holding the Hover webhook's hmac_secret"
        f" (default {HOVER_SECRET_VARIABLE})",
    )
    parser.add_argument(
        "--bentley-secret-env",
        default=BENTLEY_SECRET_VARIABLE,
        metavar="NAME",
        help="the variable holding the Bentley webhook's secret"
        f" (default {BENTLEY_SECRET_VARIABLE})",
    )
    parser.add_argument(
        "--hover-secret-file",
        metavar="PATH",
        help="with --register, where a new Hover webhook's secret is written (a new file, mode"
        " 0600); read at start when the secret variable is not set",
    )
    parser.add_argument(
        "--bentley-filter",
        metavar="EXPR",
        help="OData $filter of the Bentley jobs the catch-up sweep covers (BENTLEY_API's API;"
        " without it Bentley is archived from events only)",
    )
    parser.add_argument(
        "--takeoff",
        action="store_true",
        help="keep OUT/takeoff.csv current: after each run, the rows of the Hover jobs it"
        " archived are replaced (see 'hover takeoff')",
    )
    add_run_options(parser.add_argument_group("archive run"))
    add_http_options(parser)
    parser.set_defaults(handler=Handler(ServeCommand, cmd_serve))
