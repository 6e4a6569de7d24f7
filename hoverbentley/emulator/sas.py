"""Azure Storage shared access signatures (service SAS for a container, account SAS)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlencode

VERSION = "2020-12-06"


def _sign(key: str, text: str) -> str:
    digest = hmac.new(base64.b64decode(key), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def container_sas(
    account_url: str, account: str, key: str, container: str, permissions: str, ttl: float
) -> str:
    """A container URL carrying a service SAS valid for ``ttl`` seconds."""
    expiry = _time(datetime.now(timezone.utc) + timedelta(seconds=ttl))
    resource = f"/blob/{account}/{container}"
    fields = [permissions, "", expiry, resource, "", "", "https,http", VERSION, "c"]
    signature = _sign(key, "\n".join([*fields, "", "", "", "", "", "", ""]))
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
