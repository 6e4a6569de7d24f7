"""Stream one file to disk: ``.part`` file, sha256 while streaming, resume, atomic rename."""

from __future__ import annotations

from ._http.download import CHUNK_SIZE, DownloadResult, PartFile, download_file, part_path

__all__ = ["CHUNK_SIZE", "DownloadResult", "PartFile", "download_file", "part_path"]
