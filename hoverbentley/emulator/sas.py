"""Azure Storage shared access signatures (service SAS for a container, account SAS)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlencode

VERSION = "2020-12-06"


def _sign(key: str, text: str) -> str:
    digest = hmac.new(base64.b64decode(key), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _container_signature(
    key: str, account: str, container: str, permissions: str, expiry: str, version: str
) -> str:
    resource = f"/blob/{account}/{container}"
    fields = [permissions, "", expiry, resource, "", "", "https,http", version, "c"]
    return _sign(key, "\n".join([*fields, "", "", "", "", "", "", ""]))


def container_sas(
    account_url: str, account: str, key: str, container: str, permissions: str, ttl: float
) -> str:
    """A container URL carrying a service SAS valid for ``ttl`` seconds."""
    expiry = _time(datetime.now(timezone.utc) + timedelta(seconds=ttl))
    signature = _container_signature(key, account, container, permissions, expiry, VERSION)
    query = urlencode(
        {
            "sv": VERSION,
            "sr": "c",
            "sp": permissions,
            "se": expiry,
            "spr": "https,http",
            "sig": signature,
        },
        quote_via=quote,
    )
    return f"{account_url.rstrip('/')}/{container}?{query}"


def account_sas(account: str, key: str, permissions: str, ttl: float) -> str:
    """The query string of an account SAS for the blob service (setting up test data)."""
    expiry = _time(datetime.now(timezone.utc) + timedelta(seconds=ttl))
    fields = [account, permissions, "b", "sco", "", expiry, "", "https,http", VERSION, "", ""]
    signature = _sign(key, "\n".join(fields))
    return urlencode(
        {
            "sv": VERSION,
            "ss": "b",
            "srt": "sco",
            "sp": permissions,
            "se": expiry,
            "spr": "https,http",
            "sig": signature,
        },
        quote_via=quote,
    )


class SasRefused(Exception):
    """A SAS that does not grant a request: ``code`` and ``detail`` as Azure words them."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def check_container_sas(
    query: Mapping[str, str], account: str, key: str, container: str, permission: str
) -> None:
    """Raise :class:`SasRefused` unless ``query`` is a valid container SAS granting ``permission``.

    Checks the signature of the fields :func:`container_sas` signs, the ``se=`` expiry and
    the permissions.
    """
    if "sig" not in query or "se" not in query:
        raise SasRefused("AuthenticationFailed", "Signature fields not well formed.")
    expiry = query["se"]
    expected = _container_signature(
        key, account, container, query.get("sp", ""), expiry, query.get("sv", "")
    )
    if query.get("sr") != "c" or not hmac.compare_digest(expected, query["sig"]):
        raise SasRefused("AuthenticationFailed", "Signature did not match.")
    try:
        ends = datetime.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise SasRefused("AuthenticationFailed", "Signed expiry is not a time.") from None
    now = datetime.now(timezone.utc)
    if ends <= now:
        raise SasRefused(
            "AuthenticationFailed",
            "Signature not valid in the specified time frame: Start [] -"
            f" Expiry [{_http_date(ends)}] - Current [{_http_date(now)}]",
        )
    if permission not in query.get("sp", ""):
        raise SasRefused(
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
        )


def _http_date(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
