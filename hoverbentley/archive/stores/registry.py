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


#: The backend of each scheme (every scheme of :data:`.location.SCHEMES`).
BACKENDS: dict[str, Callable[[StoreLocation], Store]] = {
    "file": _local,
    "s3": _cloud,
    "az": _cloud,
    "gs": _cloud,
}


def open_store(url: str) -> Store:
    """The store at ``url``: a path or ``file://``, ``s3://``, ``az://`` or ``gs://``.

    Nothing is sent yet; a scheme that is unknown, or a store that cannot be configured from
    its environment (no Azure account, for example), raises :class:`StoreUnavailable`.
    """
    location = parse_location(url)
    return BACKENDS[location.scheme](location)
