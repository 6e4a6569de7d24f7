"""Safe file and directory names from untrusted ids, keys and URLs."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from posixpath import splitext
from urllib.parse import unquote, urlsplit

MAX_SEGMENT = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)


def safe_segment(text: str, *, max_length: int = MAX_SEGMENT) -> str:
    """One path segment made of ``[A-Za-z0-9._-]`` only, never ``.``/``..``, empty or reserved.

    Unsafe characters become ``_``; an over-long or rewritten name keeps a short hash of the
    original, so two different inputs do not end up with the same name.
    """
    normalized = unicodedata.normalize("NFKC", text)
    cleaned = _UNSAFE.sub("_", normalized).strip("._") or "_"
    stem = cleaned.split(".", 1)[0].lower()
    if stem in _WINDOWS_RESERVED:
        cleaned = f"_{cleaned}"
    if cleaned != text or len(cleaned) > max_length:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        cleaned = f"{cleaned[: max_length - 9]}-{digest}"
    return cleaned


def url_extension(url: str, *, default: str = "") -> str:
    """The lower-case extension of a URL's path without the dot (``pdf``), or ``default``."""
    path = unquote(urlsplit(url).path)
    ext = splitext(path.rsplit("/", 1)[-1])[1].lstrip(".").lower()
    if not ext or len(ext) > 10 or not ext.isalnum():
        return default
    return ext
