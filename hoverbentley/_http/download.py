"""Stream one file to disk: ``.part`` file, sha256 while streaming, resume, atomic rename."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from .part_file import CHUNK_SIZE, PartFile, part_path
from .transfer import DownloadResult, transfer

if TYPE_CHECKING:
    from .transport import Transport

__all__ = ["CHUNK_SIZE", "DownloadResult", "PartFile", "download_file", "part_path"]


async def download_file(
    transport: Transport,
    url: str,
    dest: str | os.PathLike[str],
    *,
    authenticated: bool = True,
    resume: bool = True,
    chunk_size: int = CHUNK_SIZE,
    identity: str | None = None,
    md5: str | None = None,
) -> DownloadResult:
    """Download ``url`` to ``dest`` without holding the body in memory.

    The body goes to ``dest.part`` in writes of at least ``chunk_size`` bytes, hashed as it
    arrives, checked against the announced length, fsynced and renamed onto ``dest``; ``dest``
    therefore only ever holds a complete file. A broken transfer is resumed with a Range
    request guarded by ``If-Range`` (the ETag), and started over when the server ignores the
    range or the file changed. Body failures are retried with the client's retry policy.

    ``identity`` names the file for resuming when ``url`` changes between attempts (a
    re-signed storage URL); ``md5`` (base64, as in ``Content-MD5``) is checked before the rename.
    """
    if os.path.isdir(dest):  # noqa: ASYNC240 (a stat, as PartFile's, costs less than a hop)
        raise ConfigurationError(f"{os.fspath(dest)} is a directory: give the file to write")
    part = PartFile(
        dest, identity or url, md5=md5 is not None, resume=resume, chunk_size=chunk_size
    )
    async with part:
        return await transfer(transport, url, part, authenticated=authenticated, md5=md5)
