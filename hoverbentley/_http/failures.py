"""Connection failures: which are worth a retry, and how they read to a person."""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys
from urllib.parse import urlsplit

from ..errors import APIConnectionError, APITimeoutError, UnreachableHostError


class HopFailure(Exception):
    """A request to one host failed before a response; ``sent``: it may have reached it."""

    def __init__(self, error: APIConnectionError, *, sent: bool, origin: str) -> None:
        self.error = error
        self.sent = sent
        self.origin = origin


class ConnectFailed(Exception):
    """The lean client opened no connection; ``os_error`` says why (as aiohttp's
    ``ClientConnectorError`` does)."""

    def __init__(self, os_error: BaseException) -> None:
        super().__init__(str(os_error))
        self.os_error = os_error


class PayloadError(Exception):
    """A response the lean client could not read: malformed, or its body cut short."""


class BodyEncodingError(PayloadError):
    """A compressed body that does not decompress (corrupt, or cut short)."""


# aiohttp is imported only where a request goes through it (a caller's session, tracing):
# where it is not loaded, none of its errors can be raised. Each function is evaluated in an
# ``except`` clause, that is only once something was raised.


def connect_errors() -> tuple[type[BaseException], ...]:
    """Failures that happen before a request is sent: the server never saw it."""
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None:
        return (ConnectFailed,)
    return (ConnectFailed, aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


def payload_errors() -> tuple[type[BaseException], ...]:
    """A malformed response, or a body cut short."""
    aiohttp = sys.modules.get("aiohttp")
    return (PayloadError,) if aiohttp is None else (PayloadError, aiohttp.ClientPayloadError)


def exchange_errors() -> tuple[type[BaseException], ...]:
    """Every failure of an exchange once the request may have been sent."""
    aiohttp = sys.modules.get("aiohttp")
    errors = (PayloadError, asyncio.TimeoutError, OSError)
    return errors if aiohttp is None else (*errors, aiohttp.ClientError)


def wrap_error(exc: BaseException, url: str, *, sent: bool) -> APIConnectionError:
    """The typed error for an HTTP or socket failure while talking to ``url``."""
    if isinstance(exc, APIConnectionError):
        return exc
    if isinstance(exc, ConnectFailed):
        exc = exc.os_error
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's timeouts included
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
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None and isinstance(exc, aiohttp.ClientConnectorCertificateError):
        reason = f"the TLS certificate of {host} is not trusted ({exc.certificate_error})"
        return UnreachableHostError(reason, url=url, host=host, tls=True)
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = f"the TLS certificate of {host} is not trusted ({cause})"
        return UnreachableHostError(reason, url=url, host=host, tls=True)
    if (aiohttp is not None and isinstance(exc, aiohttp.ClientSSLError)) or isinstance(
        cause, ssl.SSLError
    ):
        reason = f"TLS with {host} failed ({cause})"
        return UnreachableHostError(reason, url=url, host=host, tls=True)
    if not first_contact or not isinstance(exc, connect_errors()):
        return None
    dns = getattr(aiohttp, "ClientConnectorDNSError", ())
    if (dns and isinstance(exc, dns)) or _is_dns(cause):
        return UnreachableHostError(f"the name of {host} does not resolve", url=url, host=host)
    if isinstance(cause, ConnectionRefusedError):
        return UnreachableHostError(f"{host} refused the connection", url=url, host=host)
    return None


def _is_dns(cause: BaseException) -> bool:
    return isinstance(cause, socket.gaierror)
