"""Which Bentley API a ``bentley`` command talks to (``--api``, ``--service``) and its client.

v1 (``/contextcapture``) stays the default: it is what existing users, scripts and archives
rely on, and v2 is still a Technology Preview. ``--base-url`` is the base URL of the API
chosen; without it each API takes its own environment variable, then Bentley's URL.
"""

from __future__ import annotations

import argparse

from ..bentley.auth import IMS_TOKEN_URL
from ..bentley.client import RealityModelingClient
from ..bentley.reality import DEFAULT_BASE_URL as REALITY_BASE_URL
from ..bentley.v2 import RealityAnalysisClient, RealityModelingV2Client, V2JobsApi
from ..errors import ConfigurationError
from .common import add_credential_options, env
from .options import http_config
from .settings import APIS, BASE_URLS, SERVICES, Api

AnyClient = RealityModelingClient | V2JobsApi


def add_credentials(parser: argparse.ArgumentParser) -> None:
    """Bentley credentials, from flags or the environment."""
    add_credential_options(
        parser,
        "Bentley",
        (
            ("--token", "BENTLEY_TOKEN", "bearer token", None),
            ("--client-id", "BENTLEY_CLIENT_ID", "service application client id", None),
            ("--client-secret", "BENTLEY_CLIENT_SECRET", "service application secret", None),
            ("--token-url", "BENTLEY_TOKEN_URL", "IMS token endpoint", IMS_TOKEN_URL),
            (
                "--reality-url",
                "BENTLEY_REALITY_URL",
                "Reality Management base URL, where job outputs are stored",
                REALITY_BASE_URL,
            ),
        ),
    )


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


def api_of(args: argparse.Namespace) -> Api:
    """``v1`` or ``v2``: ``--api``, else ``BENTLEY_API``, else v2 for Analysis and v1 otherwise."""
    api = args.api or env("BENTLEY_API")
    if api is None:
        return "v2" if args.service == "analysis" else "v1"
    if api not in APIS:
        raise ConfigurationError(f"BENTLEY_API must be v1 or v2, not {api!r}")
    if api == "v1" and args.service == "analysis":
        raise ConfigurationError(
            "Reality Analysis has no v1 API: use --api v2 with --service analysis"
        )
    return "v1" if api == "v1" else "v2"


def base_url_of(args: argparse.Namespace) -> str:
    """``--base-url``, else the chosen API's environment variable, else the profile's URL for
    that API, else Bentley's URL."""
    if args.base_url:
        return str(args.base_url)
    variable, default = BASE_URLS[(api_of(args), args.service)]
    profile: dict[str, str] = getattr(args, "profile_urls", {})
    return env(variable) or profile.get(variable) or default


def client_from_args(args: argparse.Namespace) -> AnyClient:
    """The client of the API the flags choose, with their credentials and HTTP settings."""
    service = bool(args.client_id or args.client_secret)
    if not service and not args.token:
        raise ConfigurationError(
            "Bentley credentials missing: pass --token or set BENTLEY_TOKEN, or --client-id"
            " and --client-secret (BENTLEY_CLIENT_ID, BENTLEY_CLIENT_SECRET)"
        )
    api = api_of(args)
    kind: type[AnyClient] = RealityModelingClient
    if api == "v2":
        kind = RealityAnalysisClient if args.service == "analysis" else RealityModelingV2Client
    return kind(
        token=None if service else args.token,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_url=args.token_url,
        base_url=base_url_of(args),
        http=http_config(args, kind.default_requests_per_minute),
    )
