"""``open_store(url)``: one table from scheme to backend."""

from __future__ import annotations

from collections.abc import Callable

from .base import Store, StoreUnavailable
from .location import StoreLocation, parse_location


def _local(location: StoreLocation) -> Store:
    from .local import LocalStore

    return LocalStore(location.prefix)


def _cloud(location: StoreLocation) -> Store:
    try:
        from .cloud import CloudStore
    except ImportError as exc:
        raise StoreUnavailable(
            f"{location.url}: object stores need obstore"
            f" (pip install 'hoverbentley[objectstore]'): {exc}"
        ) from None
    return CloudStore.from_location(location)


def _gcs(location: StoreLocation) -> Store:
    # obstore's GCS uploads (single, multipart, conditional) could not be tested against a
    # local GCS server (fake-gcs-server refuses them): writing is not offered until they can.
    raise StoreUnavailable(
        f"{location.url}: Google Cloud Storage is not supported yet (its uploads cannot be"
        " tested against a local GCS server); write into a local directory, or into s3://"
        " with AWS_ENDPOINT_URL set to GCS's S3-compatible XML API and an HMAC key"
    )


#: The backend of each scheme (every scheme of :data:`.location.SCHEMES`).
BACKENDS: dict[str, Callable[[StoreLocation], Store]] = {
    "file": _local,
    "s3": _cloud,
    "az": _cloud,
    "gs": _gcs,
}


def open_store(url: str) -> Store:
    """The store at ``url``: a path or ``file://``, ``s3://`` or ``az://`` (``gs://`` is
    recognised and refused: see :func:`_gcs`).

    Nothing is sent yet; a scheme that is unknown, or a store that cannot be configured from
    its environment (no Azure account, for example), raises :class:`StoreUnavailable`.
    """
    location = parse_location(url)
    return BACKENDS[location.scheme](location)
