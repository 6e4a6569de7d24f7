"""``--include`` and ``--exclude``: which files of a Hover job to archive.

A selector is a file kind (``images``), a format (``pdf``), an artifact key or a part of one
(``measurements.full_json``, ``full_json``, ``cad_exports``), or a glob pattern over any of
them (``cad_exports.*``, ``*json``). Plain words are checked against the names Hover uses, so
a typo is an error rather than an empty archive; so is a pattern that can match no name
(``cad_export.*``, ``*jsn``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase

import msgspec

from ..errors import ConfigurationError
from .models import Artifacts, CadExports, Measurements

#: Names that select every image (photo) of a job.
IMAGE_NAMES = frozenset({"images", "image", "photos"})
#: Names that select every artifact (report, export) of a job.
ARTIFACT_NAMES = frozenset({"artifacts", "artifact"})
_IMAGE_FORMATS = frozenset({"jpg", "jpeg", "png", "heic"})


def _field_names(struct: type[msgspec.Struct]) -> frozenset[str]:
    return frozenset(f.encode_name for f in msgspec.structs.fields(struct))


#: Every plain word a selector may be: kinds, artifact groups and keys, file formats.
KNOWN_NAMES = (
    IMAGE_NAMES
    | ARTIFACT_NAMES
    | _field_names(Artifacts)
    | _field_names(Measurements)
    | _field_names(CadExports)
    | _IMAGE_FORMATS
)
#: Every whole artifact key (``measurements.full_json``), which a pattern may match too.
KNOWN_KEYS = frozenset(
    f"{group}.{name}"
    for group, struct in (("measurements", Measurements), ("cad_exports", CadExports))
    for name in _field_names(struct)
)
_GLOB = frozenset("*?[")
_GLOB_CHARS = re.compile(r"\[[^\]]*\]|[*?]")


def parse_selectors(text: str | Iterable[str] | None, option: str) -> frozenset[str] | None:
    """Lower-case selectors from ``"pdf,json,images"`` (``None``: no selection given).

    Raises :class:`ConfigurationError` naming ``option`` and the valid choices for an empty
    selection or an unknown plain word.
    """
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    selectors = frozenset(i.strip().lower().lstrip(".") for i in items if i.strip())
    if not selectors:
        raise ConfigurationError(f"{option} needs at least one kind, e.g. pdf,json,images")
    unknown = sorted(s for s in selectors if not _GLOB & set(s) and not _known(s))
    if unknown:
        raise ConfigurationError(
            f"{option}: unknown {', '.join(unknown)}; choose from {', '.join(sorted(KNOWN_NAMES))}"
            " (or a key such as measurements.full_json, or a pattern such as cad_exports.*)"
        )
    hopeless = sorted(s for s in selectors if _GLOB & set(s) and not _can_match(s))
    if hopeless:
        raise ConfigurationError(
            f"{option}: the pattern {', '.join(map(repr, hopeless))} matches no name Hover uses;"
            f" the names are: {', '.join(sorted(KNOWN_NAMES))}, and keys such as"
            " measurements.full_json"
        )
    return selectors


def _can_match(pattern: str) -> bool:
    # A typo, when a plain part of the pattern is no name (``cad_export.*``), or when a
    # pattern of one part matches no name nor key (``*jsn``). Image ids are open
    # (``images.1662*``, ``16*``), and so are the keys of a group (``cad_exports.*``).
    plain = [part for part in pattern.split(".") if not _GLOB & set(part)]
    if not all(part in KNOWN_NAMES or part.isdigit() for part in plain):
        return False
    if "." in pattern or _GLOB_CHARS.sub("", pattern).isdigit():
        return True
    return any(fnmatchcase(name, pattern) for name in KNOWN_NAMES | KNOWN_KEYS)


def _known(selector: str) -> bool:
    # A whole key (``cad_exports.xml_v2``, ``images.1662``) is known when each of its parts
    # is a name or an image id.
    return all(part in KNOWN_NAMES or part.isdigit() for part in selector.split("."))


def parse_include(text: str | Iterable[str] | None) -> frozenset[str] | None:
    """The ``--include`` selectors (``None``: everything)."""
    return parse_selectors(text, "--include")


def parse_exclude(text: str | Iterable[str] | None) -> frozenset[str] | None:
    """The ``--exclude`` selectors (``None``: nothing left out)."""
    return parse_selectors(text, "--exclude")


def _matches(selectors: frozenset[str], *, kind: str, format: str, key: str) -> bool:
    kind, format, key = kind.lower(), format.lower(), key.lower()
    if kind == "image" and selectors & IMAGE_NAMES:
        return True
    if kind == "artifact" and selectors & ARTIFACT_NAMES:
        return True
    names = (format, key, *key.split("."))
    return any(fnmatchcase(name, s) for s in selectors for name in names)


def selected(
    include: frozenset[str] | None,
    *,
    kind: str,
    format: str,
    key: str,
    exclude: frozenset[str] | None = None,
) -> bool:
    """Whether a file is wanted: selected by ``include`` (all when ``None``) and not by
    ``exclude``; by kind (``images``), format (``pdf``), key or key part (``xml_v2``)."""
    if include is not None and not _matches(include, kind=kind, format=format, key=key):
        return False
    return exclude is None or not _matches(exclude, kind=kind, format=format, key=key)
