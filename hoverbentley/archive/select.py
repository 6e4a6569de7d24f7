"""Moved to :mod:`hoverbentley.hover.select` (Hover's file kinds); kept so old imports work."""

from ..hover.select import IMAGE_NAMES, parse_exclude, parse_include, selected

__all__ = ["IMAGE_NAMES", "parse_exclude", "parse_include", "selected"]
