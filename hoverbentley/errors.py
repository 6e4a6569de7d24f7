"""The exceptions raised by hoverbentley, all under :class:`HoverBentleyError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .redact import redact_url


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of an API error's ``details`` list."""

    code: str | None
    message: str | None
    target: str | None = None


_PRIVATE_HEADERS = frozenset({"set-cookie", "authorization", "www-authenticate"})


class HoverBentleyError(Exception):
    """Base class of every error raised by this package."""


class ConfigurationError(HoverBentleyError, ValueError):
    """The caller's arguments or settings are invalid; nothing was sent."""


class CredentialsError(ConfigurationError):
    """The credentials cannot be used as they are set up: a damaged token file, no refresh
    token to renew with. Every request would meet it: a run stops at the first."""


class ArchiveWriteError(HoverBentleyError):
    """The archive cannot be written (disk full, permissions, a directory in the way).

    The run stops; what is complete is kept and a rerun after the cause is fixed finishes it.
    The message is one line naming the path and the cause.
    """


class APIError(HoverBentleyError):
    """An error tied to one request URL (always redacted)."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = redact_url(url) if url else None
        self.message = message
        super().__init__(f"{message} [{self.url}]" if self.url else message)


class APIStatusError(APIError):
    """The server answered with an error status after any retries."""

    #: The HTTP status (the name httpx and openai-python use).
    status_code: int = 0

    def __init__(
        self,
        status_code: int,
        *,
        url: str,
        code: str | None = None,
        message: str | None = None,
        details: Sequence[ErrorDetail] = (),
        body_excerpt: str = "",
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.headers: Mapping[str, str] = {
            k: v for k, v in (headers or {}).items() if k.lower() not in _PRIVATE_HEADERS
        }
        self.code = code
        self.details = tuple(details)
        self.body_excerpt = body_excerpt
        self.method = method
        text = f"HTTP {status_code}"
        if code and code != message:
            text += f" {code}"
        if message:
            text += f": {message}"
        elif body_excerpt:
            text += f": {body_excerpt}"
        explained = [_explain(d) for d in self.details if d.message and d.message != message]
        if explained:
            text += f" ({'; '.join(explained)})"
        super().__init__(f"{method} {text}", url=url)
        self.api_message = message


def _explain(detail: ErrorDetail) -> str:
    """One detail of an error for a person: its message, and what it is about."""
    where = f"{detail.target}: " if detail.target else ""
    return f"{where}{detail.message}"


class BadRequestError(APIStatusError):
    """HTTP 400."""


class AuthenticationError(APIStatusError):
    """HTTP 401: the credentials are missing, wrong or expired."""


class ReauthorizationRequired(AuthenticationError):
    """The refresh token was refused: a person must authorize the application again."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403."""


class NotFoundError(APIStatusError):
    """HTTP 404."""


class ConflictError(APIStatusError):
    """HTTP 409."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422: the request was understood but refused (bad parameter, missing current user)."""


class InvalidParameterError(BadRequestError, UnprocessableEntityError):
    """A query parameter was refused (``details`` code ``InvalidParameter``, e.g. ``$top``).

    Reality Modeling v1 answers 422 and v2 400 for the same mistake: both are this error.
    """


class RateLimitError(APIStatusError):
    """HTTP 429 after every retry was spent."""


class ServerError(APIStatusError):
    """HTTP 5xx after every retry was spent."""


class APIConnectionError(APIError):
    """The connection failed, was reset, or the body arrived incomplete."""


class APITimeoutError(APIConnectionError):
    """Connecting or reading timed out."""


class UnreachableHostError(APIConnectionError):
    """A host cannot be reached for a reason no retry mends: a name that does not resolve, a TLS
    certificate or protocol error, or a refused connection on the first contact."""

    def __init__(self, message: str, *, url: str | None, host: str, tls: bool = False) -> None:
        self.host = host
        #: A TLS failure (certificate or protocol): the address itself may well be right.
        self.tls = tls
        super().__init__(message, url=url)


class HostUnavailableError(APIConnectionError):
    """A host that had answered stayed down for longer than the outage limit."""

    def __init__(self, message: str, *, url: str | None, host: str, down_for: float) -> None:
        self.host = host
        self.down_for = down_for
        super().__init__(message, url=url)


class RedirectError(APIError):
    """A redirect could not be followed (loop, too many hops, missing or non-HTTP location)."""


class DecodeError(APIError):
    """A response body is not the documented shape.

    ``path`` is the JSON path of the offending value (``$.models[0].id``) when known.
    """

    def __init__(self, message: str, *, url: str | None, path: str | None = None) -> None:
        self.path = path
        super().__init__(message, url=url)


class UnreadableBodyError(DecodeError):
    """A body that is no JSON at all where JSON was expected: empty, cut short, or a page a
    proxy answered in the service's place (``<!DOCTYPE html>…Maintenance…``)."""


class IntegrityError(APIError):
    """A downloaded file does not match its expected size or checksum."""


class WebhookError(HoverBentleyError):
    """A webhook request was refused: not authentic, not fresh, or not an event.

    The message names what failed and never holds the secret or an expected signature.
    """


class InvalidSignature(WebhookError):
    """The request's signature is missing, of an unknown scheme, or does not match the body
    and the secret (another webhook's secret, a forged or altered request)."""


class StaleEvent(WebhookError):
    """The request's timestamp is outside the accepted window (a replay, or a clock far off),
    or there is no timestamp to check."""


class MalformedEvent(WebhookError, ValueError):
    """The request's body is not an event of the documented shape (not JSON, not an object,
    a field of the wrong type) or is larger than the limit."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The exception class for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIStatusError)
