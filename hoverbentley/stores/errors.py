"""A store error as one line without secrets, and which errors no retry mends."""

from __future__ import annotations

from .base import StoreError, StoreUnavailable
from .cloud_config import CREDENTIALS_HELP
from .location import StoreLocation

#: Words of an obstore error that say the bucket or container does not exist.
_NO_BUCKET = ("NoSuchBucket", "ContainerNotFound", "The specified bucket does not exist")
#: Words that say the credentials were looked for in the instance metadata and not found.
_NO_CREDENTIALS = (
    "169.254.169.254",
    "/latest/api/token",
    "/latest/meta-data/iam",
    "/computeMetadata/",
    "Error performing token request",
    "Error getting credentials",
)
_DENIED = ("AccessDenied", "AuthorizationFailure", "AuthenticationFailed", "InvalidAccessKeyId")


def cause(exc: BaseException) -> str:
    """One line of a store error, without URLs' query strings (a SAS signs them)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return " ".join(w.split("?", 1)[0] if "://" in w else w for w in first.split())[:300]


def translate(exc: BaseException, location: StoreLocation, what: str) -> StoreError:
    """The error to raise for ``exc``, met while doing ``what`` (``"cannot read s3://…/x"``).

    Missing credentials, a missing bucket and a refused credential are
    :class:`StoreUnavailable` (exit status 2: a retry does not mend them); the rest is a
    :class:`StoreError`.
    """
    text = str(exc)
    noun = "container" if location.scheme == "az" else "bucket"
    if any(w in text for w in _NO_CREDENTIALS):
        return StoreUnavailable(
            f"{location.url}: no credentials found: {CREDENTIALS_HELP[location.scheme]}"
        )
    if any(w in text for w in _NO_BUCKET):
        return StoreUnavailable(f"{location.url}: the {noun} {location.name!r} does not exist")
    if any(w in text for w in _DENIED):
        return StoreUnavailable(f"{location.url}: access denied: {cause(exc)}")
    return StoreError(f"{what}: {cause(exc)}")
