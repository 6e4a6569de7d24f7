"""Text from a service shown to people: one line, no control characters."""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with every character that is not printable (a tab, a line break, an escape
    sequence's ESC) replaced by a space: a name from a service cannot add a column or a line
    to a listing, nor drive the terminal."""
    return text if text.isprintable() else "".join(c if c.isprintable() else " " for c in text)
