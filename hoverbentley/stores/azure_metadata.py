"""Set Blob Metadata on Azure after a multipart upload committed (obstore cannot).

Through a URL obstore signs for each blob, sent with aiohttp. Signing works with an account
key (tested against Azurite); obstore signs for a bearer token (Entra ID) with a user
delegation key, which no test here covers. A credential that cannot sign (a SAS token) is
reported once, and large objects then keep their sha256 in the manifest only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

import aiohttp
import obstore
from obstore.exceptions import BaseError
from obstore.store import AzureStore

from .errors import cause
from .retrying import send

#: How long the signed URL that sets a blob's metadata is valid.
_SIGNED_FOR = timedelta(minutes=10)
#: Tries of a Set Blob Metadata request that fails (5xx, reset, timeout) before giving up.
_TRIES = 4

logger = logging.getLogger("hoverbentley")


async def _put_metadata(url: str, attributes: Mapping[str, str]) -> str | None:
    """Set Blob Metadata (replacing any) at the signed ``url``; None, or why it failed.

    The URL is never logged: its query is the grant.
    """
    headers = {f"x-ms-meta-{name}": str(value) for name, value in attributes.items()}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        answer = await send(
            session,
            "PUT",
            f"{url}&comp=metadata",
            lambda: headers,
            tries=_TRIES,
            backoff=0.2,
            done=lambda status: status == 200,
        )
    if answer.status == 200:
        return None
    return f"HTTP {answer.status}" if answer.status is not None else answer.failure.split()[0]


class BlobMetadata:
    """Sets the metadata of blobs that multipart uploads committed in one Azure store."""

    def __init__(self, store: AzureStore, location: str) -> None:
        self._store = store
        self._location = location
        self._can_sign = True

    async def set(self, key: str, attributes: Mapping[str, str]) -> bool:
        """Whether blob ``key`` now carries ``attributes`` as its metadata."""
        if not self._can_sign:
            return False
        try:
            url = await obstore.sign_async(self._store, "PUT", key, _SIGNED_FOR)
        except (BaseError, OSError) as exc:
            # Uploads finishing together may all fail to sign; only the first one reports it.
            if self._can_sign:
                self._can_sign = False
                logger.warning(
                    "%s: cannot sign requests (%s): objects larger than a part keep their"
                    " sha256 in the manifest only",
                    self._location,
                    cause(exc),
                )
            return False
        why = await _put_metadata(url, attributes)
        if why is not None:
            logger.warning("no sha256 metadata on %s (its manifest line has it): %s", key, why)
        return why is None
