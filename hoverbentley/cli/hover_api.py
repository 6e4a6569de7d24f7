"""The Hover account of the ``hover`` commands: its flags and the client made of them."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from ..auth import JsonFileTokenStore, ObjectTokenStore, TokenStore
from ..errors import ConfigurationError
from ..hover.defaults import DEFAULT_BASE_URL
from ..stores import is_local, parse_location
from .common import add_credential_options
from .settings import HoverAccount, HttpSettings

if TYPE_CHECKING:
    from ..hover.client import HoverClient

DEFAULT_TOKEN_FILE = "~/.config/hoverbentley/hover-token.json"  # noqa: S105 - a path

_API_SUFFIX = re.compile(r"/api/v\d+/*$")


def add_credentials(parser: argparse.ArgumentParser) -> None:
    """Hover credentials and the current user, from flags or the environment."""
    add_credential_options(
        parser,
        "Hover",
        (
            ("--token", "HOVER_TOKEN", "bearer token", None),
            ("--client-id", "HOVER_CLIENT_ID", "OAuth client id", None),
            ("--client-secret", "HOVER_CLIENT_SECRET", "OAuth client secret", None),
            (
                "--refresh-token",
                "HOVER_REFRESH_TOKEN",
                "OAuth refresh token, used once if the token file has none",
                None,
            ),
            (
                "--token-file",
                "HOVER_TOKEN_FILE",
                "where rotating OAuth tokens are kept, mode 0600; processes sharing it refresh"
                " once between them (a lock file beside it)",
                DEFAULT_TOKEN_FILE,
            ),
            (
                "--token-store",
                "HOVER_TOKEN_STORE",
                "instead of --token-file, rotating OAuth tokens in an object shared by machines:"
                " s3://BUCKET/PATH/token.json or az://CONTAINER/PATH/token.json (a lease object"
                " beside it serialises the refreshes)",
                None,
            ),
            (
                "--current-user-email",
                "HOVER_CURRENT_USER_EMAIL",
                "Hover user the requests act for",
                None,
            ),
            ("--current-user-id", "HOVER_CURRENT_USER_ID", "or that user's id", None),
            ("--base-url", "HOVER_BASE_URL", "API base URL, without /api/v3", DEFAULT_BASE_URL),
        ),
    )


def hover_client(account: HoverAccount, http: HttpSettings) -> HoverClient:
    """A :class:`HoverClient` of ``account`` and the HTTP settings, with errors in flag terms."""
    from ..hover.client import HoverClient

    oauth = bool(account.client_id or account.client_secret)
    if not oauth and not account.token:
        raise ConfigurationError(
            "Hover credentials missing: pass --token or set HOVER_TOKEN, or --client-id,"
            " --client-secret and --refresh-token (HOVER_CLIENT_ID, HOVER_CLIENT_SECRET,"
            " HOVER_REFRESH_TOKEN)"
        )
    if not account.current_user_email and not account.current_user_id:
        raise ConfigurationError(
            "Hover needs the user the requests act for: pass --current-user-email or set"
            " HOVER_CURRENT_USER_EMAIL (or --current-user-id, HOVER_CURRENT_USER_ID)"
        )
    base_url = account.base_url.rstrip("/")
    if _API_SUFFIX.search(base_url):
        raise ConfigurationError(
            f"--base-url {account.base_url} includes the API path; pass the site only,"
            f" e.g. --base-url {_API_SUFFIX.sub('', base_url)}"
        )
    return HoverClient(
        token=None if oauth else account.token,
        client_id=account.client_id,
        client_secret=account.client_secret,
        refresh_token=account.refresh_token,
        token_store=token_store_of(account) if oauth else None,
        current_user_email=account.current_user_email,
        current_user_id=account.current_user_id,
        base_url=account.base_url,
        http=http.for_provider(HoverClient.default_requests_per_minute),
    )


def token_store_of(account: HoverAccount) -> TokenStore:
    """The token store the flags name: ``--token-store`` (a store URL or a path), else the
    ``--token-file``."""
    where = account.token_store or account.token_file
    if is_local(where):
        return JsonFileTokenStore(parse_location(where).prefix)
    return ObjectTokenStore.from_url(where)
