"""The one table of store schemes, and ``URL -> (scheme, bucket, prefix)``, without I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .base import StoreUnavailable

#: Every scheme an archive can live under, and what it is.
SCHEMES: dict[str, str] = {
    "file": "a local directory (file:///path, or just the path)",
    "s3": "Amazon S3 or an S3-compatible store (s3://BUCKET/PREFIX)",
    "az": "Azure Blob Storage (az://CONTAINER/PREFIX)",
    "gs": "Google Cloud Storage (gs://BUCKET/PREFIX): recognised, not supported yet",
}
#: Text that starts like a URL (``name://``): it must then name a scheme of the table.
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
#: A scheme of the table with a colon but not both slashes (``s3:/bucket``, ``az:name``): a
#: mistyped URL, never taken as a local directory of that name.
_MISTYPED = re.compile(r"^(" + "|".join(SCHEMES) + r"):(?!//)", re.IGNORECASE)
#: What Azure takes as a container name, its reserved ones included (it answers 400 to any
#: other).
_CONTAINER = re.compile(r"\$root|\$web|\$logs|(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
#: A URL with a space before it or before its ``://`` (`` s3://b``, ``s3 ://b``): a quoting
#: slip, never taken as a local directory named so.
_SPACED = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*)\s*:\s*//")


@dataclass(frozen=True)
class StoreLocation:
    """A parsed location: ``scheme`` (a key of :data:`SCHEMES`), then for an object store its
    bucket or container ``name`` and ``prefix``, for ``file`` the directory in ``prefix``."""

    scheme: str
    name: str
    prefix: str

    @property
    def url(self) -> str:
        """The location as people write it (a local directory as its path)."""
        if self.scheme == "file":
            return self.prefix
        return f"{self.scheme}://{self.name}" + (f"/{self.prefix}" if self.prefix else "")


def supported() -> str:
    """The schemes, listed for an error message."""
    return ", ".join(f"{s}://" for s in SCHEMES)


def is_local(text: str) -> bool:
    """Whether ``text`` is a local path (no ``scheme://``) or a ``file://`` URL."""
    match = _URL.match(text)
    return match is None or match.group(1) == "file"


def parse_location(text: str) -> StoreLocation:
    """Parse an archive location; an unknown or mis-cased scheme is :class:`StoreUnavailable`.

    Credentials and options never belong in the URL (they come from the store's environment):
    a query, a fragment or a ``user@`` is refused too, without echoing it.
    """
    match = _URL.match(text)
    if match is None:
        if not text.strip():
            raise StoreUnavailable("an empty location: name a directory or a store URL")
        spaced = _SPACED.match(text)
        if spaced:
            raise StoreUnavailable(
                f"{text!r} is no store URL: no space before or inside {spaced.group(1)}:// (or"
                " ./ before a local directory's name)"
            )
        mistyped = _MISTYPED.match(text)
        if mistyped:
            scheme = mistyped.group(1).lower()
            raise StoreUnavailable(
                f"{mistyped.group(0)}… is not a store URL: write {scheme}://… (or ./ before a"
                " local directory's name)"
            )
        return StoreLocation("file", "", text)
    scheme = match.group(1)
    if scheme not in SCHEMES:
        hint = f" (schemes are lowercase: {scheme.lower()}://)" if scheme.lower() in SCHEMES else ""
        raise StoreUnavailable(f"unknown store scheme {scheme}://{hint}; supported: {supported()}")
    if scheme == "file":
        path = text[len("file://") :]
        if not path.startswith("/"):
            raise StoreUnavailable(f"{text}: a file:// URL takes an absolute path (file:///…)")
        return StoreLocation("file", "", path)
    parts = urlsplit(text)
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise StoreUnavailable(
            f"{scheme}://{parts.hostname or ''}/…: no credentials or options in a store URL;"
            " they come from the store's environment variables"
        )
    if not parts.netloc:
        noun = "container" if scheme == "az" else "bucket"
        raise StoreUnavailable(f"{text}: name a {noun} ({scheme}://{noun.upper()}/PREFIX)")
    if scheme == "az" and not _CONTAINER.fullmatch(parts.netloc):
        raise StoreUnavailable(
            f"az://{parts.netloc}: not an Azure container name (3 to 63 lowercase letters,"
            " digits and single hyphens, starting and ending with a letter or digit)"
        )
    prefix = parts.path.strip("/")
    fault = _prefix_fault(prefix)
    if fault:
        raise StoreUnavailable(f"{text!r} is no store URL: its prefix has {fault}")
    return StoreLocation(scheme, parts.netloc, prefix)


def _prefix_fault(prefix: str) -> str | None:
    """What makes ``prefix`` no object key prefix (an object store has no relative parts)."""
    for segment in prefix.split("/") if prefix else ():
        if not segment:
            return "an empty segment (//)"
        if segment in (".", ".."):
            return f"a {segment!r} segment (object keys have no relative parts)"
        if any(ord(c) < 32 or ord(c) == 127 for c in segment):
            return "a control character"
    return None
