"""Connection failures: which are worth a retry, and how they read to a person."""

from __future__ import annotations

import asyncio
import socket
import ssl
from urllib.parse import urlsplit

import aiohttp

from ..errors import APIConnectionError, APITimeoutError, UnreachableHostError


class HopFailure(Exception):
    """A request to one host failed before a response; ``sent``: it may have reached it."""

    def __init__(self, error: APIConnectionError, *, sent: bool, origin: str) -> None:
        self.error = error
        self.sent = sent
        self.origin = origin


class ConnectFailed(Exception):
    """The download leg opened no connection; ``os_error`` says why (as aiohttp's
    ``ClientConnectorError`` does)."""

    def __init__(self, os_error: BaseException) -> None:
        super().__init__(str(os_error))
        self.os_error = os_error


#: Failures that happen before a request is sent: the server never saw it.
CONNECT_ERRORS = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, ConnectFailed)


def wrap_error(exc: BaseException, url: str, *, sent: bool) -> APIConnectionError:
    """The typed error for an aiohttp or socket failure while talking to ``url``."""
    if isinstance(exc, APIConnectionError):
        return exc
    if isinstance(exc, ConnectFailed):
        exc = exc.os_error
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        host = urlsplit(url).netloc or url
        if not sent:
            return APITimeoutError(f"connect timeout: {host} did not accept a connection", url=url)
        return APITimeoutError(
            f"read timeout: {host} accepted the request but sent no response in time"
            " (--read-timeout)",
            url=url,
        )
    name = type(exc).__name__
    return APIConnectionError(f"connection failed ({name}: {exc})", url=url)


def permanent_failure(
    exc: BaseException, url: str, host: str, *, first_contact: bool
) -> UnreachableHostError | None:
    """A failure that no retry can mend, or ``None``.

    TLS certificate and protocol errors never mend themselves; a name that does not resolve
    or a refused connection on the first contact with a host is a setting to correct (a host
    that answered before and then stops is an outage, waited for instead).
    """
    cause = getattr(exc, "os_error", None) or exc.__cause__ or exc
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        reason = f"the TLS certificate of {host} is not trusted ({exc.certificate_error})"
        return UnreachableHostError(reason, url=url, host=host, tls=True)
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = f"the TLS certificate of {host} is not trusted ({cause})"
        return UnreachableHostError(reason, url=url, host=host, tls=True)
    if isinstance(exc, aiohttp.ClientSSLError) or isinstance(cause, ssl.SSLError):
        reason = f"TLS with {host} failed ({cause})"
        return UnreachableHostError(reason, url=url, host=host, tls=True)
    if not first_contact or not isinstance(exc, (aiohttp.ClientConnectorError, ConnectFailed)):
        return None
    dns = getattr(aiohttp, "ClientConnectorDNSError", ())
    if (dns and isinstance(exc, dns)) or _is_dns(cause):
        return UnreachableHostError(f"the name of {host} does not resolve", url=url, host=host)
    if isinstance(cause, ConnectionRefusedError):
        return UnreachableHostError(f"{host} refused the connection", url=url, host=host)
    return None


def _is_dns(cause: BaseException) -> bool:
    return isinstance(cause, socket.gaierror)
