"""``--include``: which files of a Hover job to archive."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ConfigurationError

#: Names that select every image (photo) of a job.
IMAGE_NAMES = frozenset({"images", "image", "photos"})


def parse_include(text: str | Iterable[str] | None) -> frozenset[str] | None:
    """A set of lower-case selectors from ``"pdf,json,images"`` (``None``: everything)."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    selectors = frozenset(i.strip().lower().lstrip(".") for i in items if i.strip())
    if not selectors:
        raise ConfigurationError("--include needs at least one kind, e.g. pdf,json,images")
    return selectors


def selected(include: frozenset[str] | None, *, kind: str, format: str, key: str) -> bool:
    """Whether a file is wanted: by format (``pdf``), kind (``images``) or key part (``xml_v2``)."""
    if include is None:
        return True
    if kind == "image" and include & IMAGE_NAMES:
        return True
    if format.lower() in include:
        return True
    return any(part.lower() in include for part in key.split("."))
