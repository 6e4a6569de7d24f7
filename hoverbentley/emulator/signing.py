"""How the emulated providers sign a webhook delivery (written from their documentation).

Hover: an HMAC with the webhook's ``hmac_secret`` over ``content-type,content-MD5,request-URI,
date`` (the api-auth canonical string), sent as ``Authorization: <scheme> <id>:<base64>``;
the header and digest are not confirmed publicly, the api-auth spellings are used
(``APIAuth-HMAC-SHA256``, or ``APIAuth`` with HMAC-SHA1). Bentley: ``Signature: sha256=<hex>``,
an HMAC-SHA256 of the raw body with the webhook's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from email.utils import format_datetime
from urllib.parse import urlsplit

#: Digest of each Hover scheme.
HOVER_DIGESTS = {"APIAuth-HMAC-SHA256": "sha256", "APIAuth": "sha1"}
#: The access id Hover's header names (what Hover puts there is not documented).
HOVER_ACCESS_ID = "hover"
JSON = "application/json"


def request_uri(url: str) -> str:
    """The path and query of ``url``: what Hover's canonical string names."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def hover_headers(
    body: bytes, *, secret: str, url: str, scheme: str, when: datetime | None = None
) -> dict[str, str]:
    """The headers of a Hover delivery of ``body`` to ``url``, signed with ``secret``."""
    moment = when or datetime.now(timezone.utc)
    md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
    date = format_datetime(moment.astimezone(timezone.utc), usegmt=True)
    canonical = ",".join((JSON, md5, request_uri(url), date))
    mac = hmac.new(secret.encode(), canonical.encode(), HOVER_DIGESTS[scheme]).digest()
    signature = base64.b64encode(mac).decode()
    return {
        "Content-Type": JSON,
        "Content-MD5": md5,
        "Date": date,
        "Authorization": f"{scheme} {HOVER_ACCESS_ID}:{signature}",
    }


def bentley_headers(body: bytes, *, secret: str) -> dict[str, str]:
    """The headers of a Bentley Webhooks v2 delivery of ``body``, signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": JSON, "Signature": f"sha256={digest}"}
