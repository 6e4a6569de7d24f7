"""Which Bentley API a ``bentley`` command talks to (``--api``, ``--service``) and its client.

v1 (``/contextcapture``) stays the default: it is what existing users, scripts and archives
rely on, and v2 is still a Technology Preview. ``--base-url`` is the base URL of the API
chosen; without it each API takes its own environment variable, then Bentley's URL. The
choice and the URL are settled with the other settings (:class:`.settings.BentleyAccount`).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..bentley.auth import IMS_TOKEN_URL
from ..bentley.defaults import REALITY_DATA_URL as REALITY_BASE_URL
from ..errors import ConfigurationError
from .common import add_credential_options
from .settings import (
    APIS,
    BASE_URLS,
    SERVICES,
    BentleyAccount,
    BentleyWebhooksAccount,
    HttpSettings,
)

if TYPE_CHECKING:
    from ..bentley.client import RealityModelingClient
    from ..bentley.v2 import V2JobsApi

    AnyClient = RealityModelingClient | V2JobsApi


def add_credentials(parser: argparse.ArgumentParser, *, reality: bool = True) -> None:
    """Bentley credentials, from flags or the environment; with ``reality``, also where job
    outputs are stored."""
    # The job commands move both defaults to a --base-url on another host (settings._beside).
    beside = "; with a --base-url on another host, the same path there" if reality else ""
    options = [
        ("--token", "BENTLEY_TOKEN", "bearer token", None),
        ("--client-id", "BENTLEY_CLIENT_ID", "service application client id", None),
        ("--client-secret", "BENTLEY_CLIENT_SECRET", "service application secret", None),
        ("--token-url", "BENTLEY_TOKEN_URL", f"IMS token endpoint{beside}", IMS_TOKEN_URL),
    ]
    if reality:
        options.append(
            (
                "--reality-url",
                "BENTLEY_REALITY_URL",
                f"Reality Management base URL, where job outputs are stored{beside}",
                REALITY_BASE_URL,
            )
        )
    add_credential_options(parser, "Bentley", options)


def service_credentials(account: BentleyAccount | BentleyWebhooksAccount) -> bool:
    """Whether ``account`` gives client credentials (else a token); neither is a usage error."""
    service = bool(account.client_id or account.client_secret)
    if not service and not account.token:
        raise ConfigurationError(
            "Bentley credentials missing: pass --token or set BENTLEY_TOKEN, or --client-id"
            " and --client-secret (BENTLEY_CLIENT_ID, BENTLEY_CLIENT_SECRET)"
        )
    return service


def add_api_options(parser: argparse.ArgumentParser) -> None:
    """``--api``, ``--service`` and ``--base-url``."""
    group = parser.add_argument_group("Bentley API")
    group.add_argument(
        "--api",
        choices=APIS,
        default=None,
        help="v1: Reality Modeling v1 (/contextcapture), the default, as existing jobs and"
        " scripts use it; v2: Reality Modeling v2 (/reality-modeling), a Technology Preview"
        " (env BENTLEY_API; --service analysis means v2)",
    )
    group.add_argument(
        "--service",
        choices=SERVICES,
        default="modeling",
        help="v2 only: Reality Modeling (default) or Reality Analysis (/reality-analysis)",
    )
    urls = "; ".join(
        f"{api} {service}: {var}, else {url}" for (api, service), (var, url) in BASE_URLS.items()
    )
    group.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help=f"base URL of the API chosen (default from the environment, by API: {urls})",
    )


def bentley_client(account: BentleyAccount, http: HttpSettings) -> AnyClient:
    """The client of the API ``account`` chooses, with its credentials and the HTTP settings."""
    from ..bentley.client import RealityModelingClient
    from ..bentley.v2 import RealityAnalysisClient, RealityModelingV2Client

    service = service_credentials(account)
    kind: type[AnyClient] = RealityModelingClient
    if account.api == "v2":
        kind = RealityAnalysisClient if account.service == "analysis" else RealityModelingV2Client
    return kind(
        token=None if service else account.token,
        client_id=account.client_id,
        client_secret=account.client_secret,
        token_url=account.token_url,
        base_url=account.base_url,
        http=http.for_provider(kind.default_requests_per_minute),
    )
