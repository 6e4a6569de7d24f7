"""URL helpers: origins, extra query parameters, redirect targets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import quote, urlencode, urljoin, urlsplit, urlunsplit

from ..errors import ConfigurationError, RedirectError

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}


#: ``scheme://netloc`` at the start of a URL, as ``urlsplit`` delimits them.
_HEAD = re.compile(r"[^:/?#]*:(?://[^/?#]*)?")


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url``, with the scheme's default port filled in."""
    # Cached by scheme and authority: signed storage URLs are each unique, their hosts few.
    head = _HEAD.match(url)
    return _origin(head.group() if head else url)


@lru_cache(maxsize=512)
def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    return scheme, (parts.hostname or "").lower(), port


def origin_key(url: str) -> str:
    """``scheme://host:port`` of ``url``: the key of a host's health and retry budget."""
    head = _HEAD.match(url)
    return _origin_key(head.group() if head else url)


@lru_cache(maxsize=512)
def _origin_key(url: str) -> str:
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}:{port}"


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port."""
    return origin(a) == origin(b)


def http_url_fault(url: str) -> str | None:
    """What keeps ``url`` from being an http(s) URL with a host (and a valid port, if it names
    one), worded to follow "is"; ``None`` when nothing does."""
    if not url.startswith(("http://", "https://")):
        return "not an http(s) URL"
    if any(c.isspace() for c in url):
        return "not a valid URL (it holds white space)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises for a port out of range or not a number)
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    host = parts.hostname
    if not host:
        return "an http(s) URL without a host"
    try:
        host.encode("idna")  # what connecting to it does: an empty or overlong label fails
    except UnicodeError:
        return f"not a valid URL (the host {host!r} is no host name)"
    return None


def callback_url(url: str, what: str) -> str:
    """``url``, where a service is to post events, with its scheme in lowercase; an URL that
    is no absolute http(s) URL with a valid host and port is a
    :class:`~hoverbentley.errors.ConfigurationError` naming ``what``."""
    scheme, sep, rest = url.partition("://")
    if sep:
        url = f"{scheme.lower()}{sep}{rest}"
    fault = http_url_fault(url)
    if fault is not None:
        raise ConfigurationError(f"{what} must be an absolute https:// URL: {url!r} is {fault}")
    return url


def add_query(url: str, params: Mapping[str, str]) -> str:
    """Append ``params`` to ``url``'s query, replacing none of the parameters already there."""
    if not params:
        return url
    parts = urlsplit(url)
    existing = {p.split("=", 1)[0] for p in parts.query.split("&") if p}
    extra = urlencode([(k, v) for k, v in params.items() if k not in existing])
    if not extra:
        return url
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def redirect_target(current: str, location: str | None, visited: list[str], limit: int) -> str:
    """The absolute URL a redirect leads to; :class:`RedirectError` where not to follow it.

    ``visited`` holds every URL of the chain so far, ``current`` last.
    """
    if not location:
        raise RedirectError("redirect without a Location header", url=current)
    location = location.strip()
    # An absolute Location (storage's signed URLs) is kept byte for byte, without a join.
    absolute = location.startswith(("http://", "https://"))
    target = location if absolute else urljoin(current, location)
    scheme = origin(target)[0]
    if scheme not in ("http", "https"):
        raise RedirectError(f"redirect to a non-HTTP scheme {scheme!r} refused", url=current)
    if origin(current)[0] == "https" and scheme == "http":
        raise RedirectError("redirect from HTTPS to plain HTTP refused", url=current)
    if target in visited:
        raise RedirectError("redirect loop", url=current)
    if len(visited) > limit:
        raise RedirectError(f"more than {limit} redirects", url=current)
    return target


def redirect_method(status: int, method: str) -> str:
    """The method to use after a redirect (303 and a POST under 301/302 become GET)."""
    if status == 303 and method != "HEAD":
        return "GET"
    if status in (301, 302) and method == "POST":
        return "GET"
    return method


_WIRE_SAFE = "!#$%&'()*+,/:;=?@[]~-._"


def wire_url(url: str) -> str:
    """``url`` with only the characters that may not appear on the wire percent-encoded.

    Existing escapes and reserved characters are kept byte for byte, so signed URLs and
    links that must be sent back unchanged (continuation tokens) stay valid.
    """
    return quote(url, safe=_WIRE_SAFE)
