"""Where an archive lives: one :class:`Store` protocol and one table of schemes.

``open_store(url)`` is the only place that knows a scheme: a local directory (a path or
``file://``), and through obstore ``s3://`` and ``az://``; ``gs://`` is recognised and
refused with the reason (its uploads cannot be tested locally yet). Everything above it
(the destination, verify, the ``--since last`` marks) speaks to a :class:`Store`.
"""

from .base import (
    ObjectInfo,
    PreconditionFailed,
    Store,
    StoreError,
    StoreUnavailable,
    Upload,
    UploadWatcher,
)
from .location import SCHEMES, StoreLocation, is_local, parse_location
from .registry import open_store

__all__ = [
    "SCHEMES",
    "ObjectInfo",
    "PreconditionFailed",
    "Store",
    "StoreError",
    "StoreLocation",
    "StoreUnavailable",
    "Upload",
    "UploadWatcher",
    "is_local",
    "open_store",
    "parse_location",
]
