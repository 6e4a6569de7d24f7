"""Page-number paging (the job list, the webhook list) and the job list's filters."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from msgspec import UNSET

from ..errors import ConfigurationError
from .models import Pagination


class Page(Protocol):
    """A page of a list Hover pages by number."""

    @property
    def pagination(self) -> Pagination | None: ...

    @property
    def items(self) -> Sequence[object]: ...


def list_params(
    page: int,
    *,
    page_size: int,
    page_size_param: str,
    updated_since: datetime | float | None = None,
    archived: bool | None = None,
    search: str | None = None,
    states: str | Sequence[str] | None = None,
) -> list[tuple[str, Any]]:
    """Query parameters of one ``GET /api/v3/jobs`` page (``states``: one state or several);
    a value of the wrong kind is a :class:`~hoverbentley.errors.ConfigurationError`."""
    params: list[tuple[str, Any]] = [("page", page), (page_size_param, page_size)]
    if updated_since is not None:
        if isinstance(updated_since, datetime):
            since = updated_since.timestamp()
        elif isinstance(updated_since, (int, float)) and not isinstance(updated_since, bool):
            since = updated_since
            if not math.isfinite(since):
                raise ConfigurationError(f"updated_since must be a finite number, not {since!r}")
        else:
            raise ConfigurationError(
                f"updated_since must be a datetime or epoch seconds, not {updated_since!r}"
            )
        params.append(("updated_since", int(since)))
    if archived is not None:
        params.append(("archived", "true" if archived else "false"))
    if search:
        params.append(("search", search))
    for state in (states,) if isinstance(states, str) else states or ():
        params.append(("reconstruction_states[]", state))
    return params


def next_page(page: Page, current: int, page_size: int) -> int | None:
    """The page number to fetch after ``current``, or ``None`` at the end.

    Ends on an empty page, a null ``next_page``, or ``current_page >= total_pages``; a page
    with no paging information ends the list when it is not full.
    """
    items = page.items
    if not items:
        return None
    info = page.pagination
    if info is not None:
        if info.next_page is not UNSET:
            return info.next_page if isinstance(info.next_page, int) else None
        if info.total_pages is not None:
            shown = info.current_page or current
            return shown + 1 if shown < info.total_pages else None
    return current + 1 if len(items) >= page_size else None
