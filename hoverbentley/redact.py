"""Keep secrets out of messages: redact credentials in URLs and free text."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"

# Query parameters that carry credentials: OAuth, S3 presigned URLs, Azure SAS tokens.
SECRET_PARAMS = frozenset(
    {
        "access_token",
        "refresh_token",
        "client_secret",
        "token",
        "code",
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "awsaccesskeyid",
        "x-goog-signature",
        "x-goog-credential",
        "key",
        "api_key",
        "apikey",
        "password",
    }
)

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/=]+")


def _secret_param(name: str) -> bool:
    """A known secret parameter, or any that names a signature (``X-Signature``, ``X-Goog-...``)."""
    lowered = name.lower()
    return lowered in SECRET_PARAMS or lowered.endswith(("signature", "credential", "token"))


#: A user-info password in a URL written without ``//`` (``ops:secret@host``, a scheme left out).
_BARE_PASSWORD = re.compile(r"^([^/@:?#]*:)[^/@?#]*@")


def redact_url(url: str) -> str:
    """Return ``url`` with credential query values and user-info passwords replaced (as
    written otherwise: its scheme keeps its case)."""
    if "//" not in url.split("?", 1)[0]:
        url = _BARE_PASSWORD.sub(rf"\g<1>{REDACTED}@", url, count=1)
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_secret_param(k) for k, _ in pairs):
            query = urlencode(
                [(k, REDACTED if _secret_param(k) else v) for k, v in pairs],
                safe="$@:/ ",
            )
    redacted = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    scheme = len(parts.scheme)
    if scheme and url[:scheme].lower() == redacted[:scheme]:
        redacted = url[:scheme] + redacted[scheme:]
    return redacted


class SecretScrubber:
    """Replaces known secret values (tokens, client secrets) in text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        """Remember ``secret`` so that :meth:`scrub` removes it (short values are ignored)."""
        if secret and len(secret) >= 6:
            self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        """Return ``text`` without any remembered secret or bearer credential."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _BEARER.sub(rf"\g<1>{REDACTED}", text)


def rich_repr_without(*secrets: str) -> Callable[[Any], list[tuple[str, Any]]]:
    """A ``__rich_repr__`` for a msgspec Struct whose ``__repr__`` hides ``secrets``: the
    Struct's own shows every field to ``rich`` and IPython's pretty printers."""

    def __rich_repr__(self: Any) -> list[tuple[str, Any]]:
        shown = ((name, getattr(self, name)) for name in self.__struct_fields__)
        return [(n, "<redacted>" if n in secrets and v is not None else v) for n, v in shown]

    return __rich_repr__
