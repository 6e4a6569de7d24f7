"""The async Hover API client."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import anyio
import msgspec

from .._client.base import ApiClient, Raw, choose_auth
from .._http.config import HttpConfig
from .._http.download import DownloadResult, download_file
from .._http.paging import prefetch_pages
from ..auth import TokenStore
from ..errors import ConfigurationError, HoverBentleyError
from .auth import HoverOAuth
from .defaults import DEFAULT_BASE_URL
from .files import JobFiles, job_files
from .measurements import DOCUMENT_KINDS, MeasurementsDocument, decode_measurements
from .models import Job, JobListPage, JobSummary, Model, hover_id
from .paging import list_params, next_page
from .webhooks import (
    WEBHOOKS_PATH,
    Webhook,
    WebhookPage,
    decode_page,
    decode_webhook,
    registration,
    verify_path,
    webhook_path,
)

if TYPE_CHECKING:
    import aiohttp

#: Hover allows 120 requests a minute per integration; stay below it by default.
DEFAULT_REQUESTS_PER_MINUTE = 100.0

_JOB = msgspec.json.Decoder(Job)
_PAGE = msgspec.json.Decoder(JobListPage)


class _ModelArtifacts(msgspec.Struct, gc=False):
    id: int | None = None
    artifacts: Any = None


class _ArtifactTrees(msgspec.Struct, gc=False):
    """Only the raw ``artifacts`` tree of each model: every other field is skipped unread."""

    models: list[_ModelArtifacts] | None = None


_TREES = msgspec.json.Decoder(_ArtifactTrees)


@dataclass(frozen=True)
class JobRecord(Raw[Job]):
    """A job decoded into Structs, with the raw JSON it came from and the URL that served it."""

    @property
    def job(self) -> Job:
        """The decoded job."""
        return self.value

    def files(self, *, all_models: bool = False) -> JobFiles:
        """Every downloadable file of the job (see :func:`hoverbentley.hover.files.job_files`)."""
        # Artifact keys this package does not model yet are kept from the raw tree, read
        # alone (decoding the whole body again would cost more than the typed decode).
        trees = _TREES.decode(self.raw).models or []
        raw = {"models": [{"id": m.id, "artifacts": m.artifacts} for m in trees]}
        return job_files(self.job, raw, all_models=all_models)


@dataclass(frozen=True)
class MeasurementsRecord(Raw[MeasurementsDocument]):
    """A measurement document decoded into Structs, with its exact bytes, the URL that served
    it and its artifact key (``summarized_json``)."""

    kind: str = ""

    @property
    def measurements(self) -> MeasurementsDocument:
        """The decoded document."""
        return self.value


@dataclass(frozen=True)
class JobResult:
    """The outcome of fetching one job: ``record`` or ``error``."""

    job_id: int
    record: JobRecord | None = None
    error: HoverBentleyError | None = None

    @property
    def job(self) -> Job | None:
        return self.record.job if self.record else None


class HoverClient(ApiClient):
    """Async client of Hover's REST API (v3 jobs, artifacts and images; webhooks).

    Give either ``token`` (a bearer token) or ``client_id``, ``client_secret`` and
    ``refresh_token`` (OAuth refresh; the rotating refresh token is kept in ``token_store``).
    ``current_user_email`` or ``current_user_id`` names the Hover user the requests act for;
    it is added to every request to Hover and never to another host. Requests to Hover are
    limited to 100 a minute unless ``http`` sets ``requests_per_minute``. ``session``: an
    aiohttp session of yours (one with ``trace_configs``, say) that every request goes through,
    downloads included; you close it, and its timeouts and connection limits replace those of
    ``http``. ``trace_configs``: ``aiohttp.TraceConfig`` objects for the session the client
    opens itself instead (a sync client's way to be traced). Use as
    ``async with HoverClient(...) as hover:``.
    """

    default_requests_per_minute = DEFAULT_REQUESTS_PER_MINUTE

    def __init__(
        self,
        *,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        token_store: TokenStore | None = None,
        current_user_email: str | None = None,
        current_user_id: str | int | None = None,
        base_url: str = DEFAULT_BASE_URL,
        http: HttpConfig | None = None,
        session: aiohttp.ClientSession | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
        page_size: int = 100,
        page_size_param: str = "per",
    ) -> None:
        auth = choose_auth(
            token,
            (
                lambda: HoverOAuth(
                    client_id or "", client_secret or "", refresh_token, store=token_store
                )
            )
            if client_id or client_secret
            else None,
            both=bool(token and (client_id or client_secret or refresh_token)),
            conflict="give either a token or the OAuth credentials, not both",
            missing="Hover credentials missing: give token, or client_id, client_secret and"
            " refresh_token",
        )
        if not current_user_email and current_user_id in (None, ""):
            raise ConfigurationError("Hover's v3 API needs current_user_email or current_user_id")
        if not 1 <= page_size <= 100:
            raise ConfigurationError("page_size must be between 1 and 100")
        user = (
            {"current_user_email": current_user_email}
            if current_user_email
            else {"current_user_id": str(current_user_id)}
        )
        super().__init__(
            base_url=base_url,
            auth=auth,
            http=http,
            session=session,
            trace_configs=trace_configs,
            params=user,
        )
        self.page_size = page_size
        self.page_size_param = page_size_param

    async def get_job_record(self, job_id: int) -> JobRecord:
        """``GET /api/v3/jobs/{job_id}``: the job as Structs and as raw JSON."""
        raw = await self._call_raw(_JOB, "GET", f"/api/v3/jobs/{hover_id(job_id)}")
        return JobRecord(raw.value, raw.raw, raw.url)

    async def get_job(self, job_id: int) -> Job:
        """``GET /api/v3/jobs/{job_id}`` decoded into a :class:`Job`."""
        return (await self.get_job_record(job_id)).job

    async def list_jobs_page(
        self,
        page: int = 1,
        *,
        updated_since: datetime | float | None = None,
        archived: bool | None = None,
        search: str | None = None,
        states: str | Sequence[str] | None = None,
    ) -> JobListPage:
        """One page of ``GET /api/v3/jobs``."""
        params = list_params(
            page,
            page_size=self.page_size,
            page_size_param=self.page_size_param,
            updated_since=updated_since,
            archived=archived,
            search=search,
            states=states,
        )
        return await self._call(_PAGE, "GET", f"/api/v3/jobs?{urlencode(params)}")

    async def iter_jobs(
        self,
        *,
        updated_since: datetime | float | None = None,
        archived: bool | None = None,
        search: str | None = None,
        states: str | Sequence[str] | None = None,
    ) -> AsyncIterator[JobSummary]:
        """Every job of the list, page after page; the next page is fetched while you consume.

        ``archived=True`` includes archived jobs; ``updated_since`` (a datetime or epoch
        seconds) limits the list to jobs changed since then; ``states`` to jobs in one
        reconstruction state (``"completed"``) or several.
        """
        if search is not None and len(search) < 3:
            raise ConfigurationError("search needs at least 3 characters")
        filters: dict[str, Any] = {
            "updated_since": updated_since,
            "archived": archived,
            "search": search,
            "states": states,
        }
        pages = prefetch_pages(
            lambda number: self.list_jobs_page(number, **filters),
            1,
            lambda page, number: next_page(page, number, self.page_size),
        )
        async with aclosing(pages):  # leaving early cancels the page in flight at once
            async for page in pages:
                for summary in page.items:
                    yield summary

    async def get_jobs(self, job_ids: Iterable[int], *, concurrency: int = 8) -> list[JobResult]:
        """Fetch many jobs at once, at most ``concurrency`` in flight.

        A failing id does not stop the others: each result holds its record or its error,
        in the order of ``job_ids``.
        """
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
            raise ConfigurationError(
                f"concurrency must be a whole number >= 1, not {concurrency!r}"
            )
        ids = list(job_ids)
        results: list[JobResult | None] = [None] * len(ids)
        limiter = anyio.CapacityLimiter(concurrency)

        async def fetch(index: int, job_id: int) -> None:
            async with limiter:
                try:
                    results[index] = JobResult(job_id, record=await self.get_job_record(job_id))
                except HoverBentleyError as exc:
                    results[index] = JobResult(job_id, error=exc)

        async with anyio.create_task_group() as group:
            for index, job_id in enumerate(ids):
                group.start_soon(fetch, index, job_id)
        return [r for r in results if r is not None]

    async def get_measurements(
        self, model: Model, kind: str = "summarized_json"
    ) -> MeasurementsRecord:
        """The ``kind`` measurement document of ``model`` (a model of a job payload), fetched
        from the link the payload gives for it, as Structs and as raw bytes.

        ``kind`` is an artifact key of the model's ``artifacts.measurements``: ``json``,
        ``summarized_json`` (:class:`~.measurements.SummarizedMeasurements`) or ``full_json``
        (:class:`~.measurements.FullMeasurements`). A key the model does not offer, or one
        that is not such a document, is a :class:`ConfigurationError` naming those it offers;
        nothing is sent.
        """
        if not isinstance(model, Model):
            raise ConfigurationError(
                f"get_measurements takes a Model of a job, not {type(model).__name__}"
            )
        artifacts = model.artifacts
        measurements = artifacts.measurements if artifacts else None
        links = measurements.links() if measurements else {}
        offered = ", ".join(sorted(links)) or "none"
        url = links.get(kind)
        if url is None:
            raise ConfigurationError(
                f"model {model.id} offers no {kind!r} measurements; it offers: {offered}"
            )
        if kind not in DOCUMENT_KINDS:
            raise ConfigurationError(
                f"{kind!r} of model {model.id} is not a measurement document this package"
                f" reads: ask for one of {', '.join(DOCUMENT_KINDS)} (the model offers:"
                f" {offered})"
            )
        response = await self.transport.request("GET", url)
        document = decode_measurements(kind, response.body, response.url)
        return MeasurementsRecord(document, response.body, response.url, kind)

    async def download(
        self, url: str, dest: str | os.PathLike[str], *, resume: bool = True
    ) -> DownloadResult:
        """Stream an artifact or image URL (from a job payload) to ``dest``.

        Hover's redirect to file storage is followed without the bearer token or the current
        user parameter; the file appears at ``dest`` only once complete.
        """
        return await download_file(self.transport, url, dest, resume=resume)

    # -- webhooks -------------------------------------------------------------------------

    async def create_webhook(self, url: str, *, content_type: str = "json") -> Webhook:
        """``POST /api/v2/webhooks``: register ``url`` for the organisation's events.

        The answer holds ``hmac_secret``, the key of the events' signatures: keep it. Hover
        then posts a ``webhook-verification-code`` event to ``url``; no other event comes
        until its code is confirmed with :meth:`verify_webhook`.
        """
        body = registration(url, content_type)
        response = await self.transport.request("POST", WEBHOOKS_PATH, json=body)
        webhook = decode_webhook(response.body, response.url)
        self.transport.scrubber.add(webhook.hmac_secret)
        return webhook

    async def verify_webhook(self, code: str) -> None:
        """``PUT /api/v2/webhooks/{code}/verify``: confirm the ``code`` of the
        ``webhook-verification-code`` event Hover posted; events start after it."""
        await self.transport.request("PUT", verify_path(code))

    async def list_webhooks_page(self, page: int = 1) -> WebhookPage:
        """One page of ``GET /api/v2/webhooks``."""
        path = f"{WEBHOOKS_PATH}?{urlencode({'page': int(page)})}"
        response = await self.transport.request("GET", path)
        listed = decode_page(response.body, response.url)
        for webhook in listed.items:
            self.transport.scrubber.add(webhook.hmac_secret)
        return listed

    async def iter_webhooks(self) -> AsyncIterator[Webhook]:
        """Every webhook of the organisation, page after page (one page when the answer
        says nothing of paging)."""
        number: int | None = 1
        while number is not None:
            page = await self.list_webhooks_page(number)
            for webhook in page.items:
                yield webhook
            # A page size Hover did not tell: an answer without paging is the whole list.
            number = next_page(page, number, len(page.items) + 1)

    async def list_webhooks(self) -> list[Webhook]:
        """Every webhook of the organisation (their secrets included, as Hover lists them)."""
        return [webhook async for webhook in self.iter_webhooks()]

    async def delete_webhook(self, webhook_id: int) -> None:
        """``DELETE /api/v2/webhooks/{id}``: no more events to that webhook, for good."""
        await self.transport.request("DELETE", webhook_path(webhook_id))
