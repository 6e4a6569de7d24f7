"""Closing an async iterator left early, whatever type it is declared with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

T = TypeVar("T")


@asynccontextmanager
async def closing_iterator(items: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """``items``, closed on leaving (``aclose``, which the listings, async generators declared
    as ``AsyncIterator``, have): a listing left early cancels the page it was fetching."""
    try:
        yield items
    finally:
        close = getattr(items, "aclose", None)
        if close is not None:
            await close()
