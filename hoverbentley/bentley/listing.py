"""Listing jobs with ``$filter``, ``$top`` and next links: the same in v1 and v2."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import ClassVar, Generic, TypeVar
from urllib.parse import quote, urlencode

from .._http.paging import prefetch_pages
from ..errors import ConfigurationError
from .base import BentleyApi
from .filters import FilterLike, Grammar, render_filter, validate_top
from .models import Paged

PageT = TypeVar("PageT", bound=Paged)
JobT = TypeVar("JobT")


class JobsListing(BentleyApi, Generic[PageT, JobT]):
    """``GET /jobs`` pages of one API version; subclasses name the page and job types."""

    grammar: ClassVar[Grammar] = "v1"

    async def _page(self, url: str) -> PageT:
        raise NotImplementedError

    def _jobs(self, page: PageT) -> list[JobT]:
        raise NotImplementedError

    def jobs_url(
        self, filter: FilterLike, *, top: int | None = None, continuation: str | None = None
    ) -> str:
        """The URL of one ``GET /jobs`` page (``$filter`` and ``$top`` checked before sending)."""
        validate_top(top)
        text = render_filter(filter, self.grammar)
        if not text:
            raise ConfigurationError("listing jobs needs a $filter (for example iTwinId eq ...)")
        params = {"$filter": text}
        if top is not None:
            params["$top"] = str(top)
        if continuation is not None:
            params["continuationToken"] = continuation
        return f"{self.base_url}/jobs?{urlencode(params, quote_via=quote, safe='$')}"

    async def list_jobs(
        self, filter: FilterLike, *, top: int | None = None, continuation: str | None = None
    ) -> PageT:
        """One page of jobs matching ``filter``.

        ``continuation`` is the token of a page's next link, or the whole next-link URL.
        """
        if continuation is not None and continuation.startswith(("http://", "https://")):
            validate_top(top)
            return await self.jobs_page(continuation)
        return await self.jobs_page(self.jobs_url(filter, top=top, continuation=continuation))

    async def jobs_page(self, url: str) -> PageT:
        """The page at ``url`` (a next link, requested exactly as the service returned it)."""
        return await self._page(url)

    async def iter_jobs(self, filter: FilterLike, *, top: int | None = None) -> AsyncIterator[JobT]:
        """Every job matching ``filter``, following next links; the next page is prefetched."""
        first = self.jobs_url(filter, top=top)
        pages = prefetch_pages(self._page, first, lambda page, _url: page.next_link)
        async with aclosing(pages):  # leaving early cancels the page in flight at once
            async for page in pages:
                for job in self._jobs(page):
                    yield job


def id_segment(value: str) -> str:
    """An id as one path segment (percent-encoded); an empty id, ``None``, and ``.`` or
    ``..`` (which would name another path) are refused."""
    if value is None:
        raise ConfigurationError("an id is needed, not None")
    text = str(value).strip()
    if not text:
        raise ConfigurationError("an id must not be empty")
    if text in (".", ".."):
        raise ConfigurationError(f"{text!r} is no id")
    return quote(text, safe="")
