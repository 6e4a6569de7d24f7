"""Run the emulator: in-process (``async with Emulator()``), in a thread, or as a command."""

from __future__ import annotations

import asyncio
import secrets
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from aiohttp import web

from .bentley import (
    ANALYSIS_PREFIX,
    API_PREFIX,
    MODELING_PREFIX,
    REALITY_PREFIX,
    TOKEN_PATH,
    WEBHOOKS_PREFIX,
    BentleyApi,
    BentleyState,
    BentleyWebhooks,
    bentley_app,
)
from .bentley.reality import reality_data_of
from .bentley.v2 import bucket_container
from .bentley.v2_store import V2Job
from .bentley.webhooks import BentleyRegistration
from .bentley_catalog import BentleyCatalog
from .blob import BlobService, blob_app
from .blobs import BlobStore, ExpectedBlob
from .catalog import CANONICAL_HOST, HoverCatalog, file_key
from .completions import Completions
from .config import EmulatorConfig, FaultConfig
from .counters import Counters
from .deliveries import WebhookSender
from .faults import Fault, FaultPlan
from .host import Host
from .hover import HoverAccounts, HoverApi, HoverRegistration, HoverWebhooks, hover_app
from .notify import Notifier
from .outages import Mode, Outages
from .recording import RecordedRequest
from .storage import Signer, injected_error, storage_app

T = TypeVar("T")


@dataclass(frozen=True)
class ExpectedFile:
    """A file the emulator serves, as a complete archive must hold it."""

    url: str
    size: int
    sha256: str
    etag: str
    job_id: int
    model_id: int
    kind: str


class Emulator:
    """The Hover API, its file storage, the Bentley iTwin APIs and a blob host on four
    loopback ports.

    Bentley's port serves IMS tokens, Reality Modeling v1 (``/contextcapture``) and v2
    (``/reality-modeling``), Reality Analysis v2 (``/reality-analysis``), Reality
    Management and Webhooks v2 (``/webhooks``); v2 jobs are in :meth:`v2_jobs` (seed ids in
    :class:`~.bentley.v2_seed.SeedV2`). The webhooks registered with either provider are in
    :attr:`hover_webhooks` and :attr:`bentley_webhooks` (``.registrations()``).

    >>> async with Emulator(EmulatorConfig(jobs=5)) as emu:
    ...     emu.hover_url, emu.storage_url

    Jobs that complete when a test says so, and the webhook events they send::

        hover_ids, v2_ids = emu.complete_jobs(hover=50, bentley=10)  # new jobs, completed now
        # or: ids = emu.new_hover_jobs(50); ...; emu.complete_hover_jobs(ids)
        #     ids = emu.new_bentley_jobs(10); ...; emu.complete_bentley_jobs(ids)
        await emu.deliveries.settled()        # on the emulator's loop; else settle_deliveries()
        emu.deliveries.log                    # every attempt: DeliveryAttempt(status, body, ...)
        emu.deliveries.attempts(job_id=str(hover_ids[0]))

    Events go to each VERIFIED Hover webhook and each ACTIVE Bentley webhook listing the event
    type (register over HTTP, or with :meth:`add_hover_webhook` / :meth:`add_bentley_webhook`),
    signed, retried per :attr:`EmulatorConfig.webhooks`; ``emu.deliveries.script("duplicate")``
    (or ``reorder``, ``hold``, ``bad-signature``) gives the next event a fault, and
    ``release_deliveries()`` sends the held ones. Every method may be called from another thread
    when the emulator runs in one (:meth:`threaded`).
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        storage_port: int = 0,
        bentley_port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        blob_port: int = 0,
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self._ports = (port, storage_port, bentley_port, blob_port)
        self._ssl = ssl_context
        #: Every request seen, in arrival order.
        self.requests: list[RecordedRequest] = []
        #: What was done to clients: faults, stalls, ranged requests, outage rejections.
        self.counters = Counters()
        self.faults = FaultPlan(
            self.config.faults,
            self.config.host_faults,
            self.counters,
            Outages(self.config.outages),
        )
        self.catalog = HoverCatalog(self.config)
        self.accounts = HoverAccounts(self.config)
        self._signer = Signer(secrets.token_bytes(16), self.config.signed_url_ttl)
        self._hover = HoverApi(self.config, self.catalog, self.accounts, self._signer, self.faults)
        self.bentley = BentleyState(
            self.config.bentley, BentleyCatalog(self.config.bentley), self.faults
        )
        self._bentley = BentleyApi(self.bentley)
        #: The webhooks registered with Hover (``/api/v2/webhooks``) and with Bentley's
        #: Webhooks v2 (``/webhooks``): their URLs, secrets, Hover's verification codes.
        self.hover_webhooks: HoverWebhooks = self._hover.webhooks
        self.bentley_webhooks: BentleyWebhooks = self._bentley.webhooks
        #: The webhook deliveries: ``log`` of every attempt, ``settled()``, ``script(...)``.
        self.deliveries = WebhookSender(self.config.webhooks)
        notifier = Notifier(self.hover_webhooks, self.bentley_webhooks, self.deliveries)
        self.hover_webhooks.on_created = notifier.hover_verification
        for api, store in zip(("modeling", "analysis"), self.bentley.v2_stores, strict=True):
            store.on_final = lambda job, api=api: notifier.v2_job_ended(api, job)
        self._completions = Completions(self.catalog, self.bentley, notifier)
        self._loop: asyncio.AbstractEventLoop | None = None
        #: The blobs of job outputs (v1 and v2) and of the iTwins' buckets, served by the
        #: built-in blob host.
        self.blobs = BlobStore(self._containers, self._bucket_layout)
        bentley = self.config.bentley
        self._blob = BlobService(
            self.blobs,
            bentley.blob_account_name,
            bentley.blob_account_key,
            Host("blob", "blob", self.faults, injected_error),
        )
        self._runners: list[web.AppRunner] = []
        self.hover_url = ""
        self.storage_url = ""
        #: Origin of the Bentley host; Reality Modeling lives under ``/contextcapture``.
        self.bentley_url = ""
        #: Account URL of the built-in blob host (``http://127.0.0.1:PORT/devstoreaccount1``).
        self.blob_url = ""

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind the ports and start answering."""
        self.faults.stopping = False
        self.faults.outages.restart_clock()
        self._loop = asyncio.get_running_loop()
        await self.deliveries.start()
        scheme = "https" if self._ssl else "http"
        storage = Host("storage", "storage", self.faults, injected_error)
        apps = (
            hover_app(self._hover, self.requests),
            storage_app(self.config, self.catalog, self._signer, storage, self.requests),
            bentley_app(self._bentley, self.requests),
            blob_app(self._blob, self.requests),
        )
        urls = []
        try:
            for app, port in zip(apps, self._ports, strict=True):
                runner = web.AppRunner(app, access_log=None, handle_signals=False)
                await runner.setup()
                self._runners.append(runner)
                site = web.TCPSite(runner, self.host, port, ssl_context=self._ssl, backlog=1024)
                await site.start()
                bound = runner.addresses[0][1]
                urls.append(f"{scheme}://{self.host}:{bound}")
        except BaseException:
            await self.stop()  # a port in use: what started (deliveries' session) stops
            raise
        self.hover_url, self.storage_url, self.bentley_url, blob_origin = urls
        self._hover.files.storage_url = self.storage_url
        self.blob_url = f"{blob_origin}/{self.config.bentley.blob_account_name}"
        self._blob.url = self.bentley.builtin_blob_url = self.blob_url

    async def stop(self) -> None:
        """Close the ports (idempotent); stalled and hanging answers end at once."""
        self.faults.stopping = True
        runners, self._runners = self._runners, []
        await self.deliveries.stop()
        for runner in runners:
            await runner.cleanup()
        self._loop = None

    # -- what tests ask -------------------------------------------------------------------

    def job_ids(self, *, archived: bool = True) -> list[int]:
        """Ids of every job, archived ones included unless ``archived=False``."""
        return sorted(j.id for j in self.catalog.jobs.values() if archived or not j.archived)

    def job_payload(self, job_id: int) -> dict[str, Any]:
        """The v3 payload of a job as served (URLs on this emulator)."""
        import json

        payload: dict[str, Any] = json.loads(self.catalog.jobs[job_id].render(self.hover_url))
        return payload

    def expected_files(self, job_id: int | None = None) -> list[ExpectedFile]:
        """Every file of complete models (of one job, or all), with size and sha256."""
        out = []
        for owner, model_id, entry in self.catalog.files_of(job_id):
            content = entry.content()
            out.append(
                ExpectedFile(
                    url=entry.url.replace(CANONICAL_HOST, self.hover_url),
                    size=content.size,
                    sha256=content.sha256,
                    etag=content.etag,
                    job_id=owner,
                    model_id=model_id,
                    kind=entry.category,
                )
            )
        return out

    def expected_file(self, url: str) -> ExpectedFile:
        """The expected file at ``url`` (as the payload names it)."""
        for item in self.expected_files():
            if item.url == url:
                return item
        raise KeyError(url)

    def content_of(self, url: str) -> bytes:
        """The current body of the file at ``url`` (tests of small files only)."""
        return self.catalog.files[file_key(url)].content().read()

    def change_file(self, url: str) -> None:
        """Give the file at ``url`` new content (and a new ETag), as if re-exported."""
        self.catalog.files[file_key(url)].version += 1

    def expire_access_tokens(self) -> None:
        """Invalidate every access token issued by Hover's ``/oauth/token`` and Bentley's IMS."""
        self.accounts.expire_all()
        self.bentley.issued.clear()

    @property
    def reality_modeling_url(self) -> str:
        """Base URL of Reality Modeling v1 (as ``https://api.bentley.com/contextcapture``)."""
        return self.bentley_url + API_PREFIX

    @property
    def webhooks_url(self) -> str:
        """Base URL of Webhooks v2 (as ``https://api.bentley.com/webhooks``)."""
        return self.bentley_url + WEBHOOKS_PREFIX

    @property
    def ims_token_url(self) -> str:
        """The IMS token endpoint (client credentials)."""
        return self.bentley_url + TOKEN_PATH

    @property
    def itwin_ids(self) -> list[str]:
        """The iTwins that hold Reality Modeling jobs."""
        return list(self.bentley.catalog.itwins)

    @property
    def reality_management_url(self) -> str:
        """Base URL of Reality Management (as ``https://api.bentley.com/reality-management/reality-data``)."""
        return self.bentley_url + REALITY_PREFIX

    def bentley_jobs(self) -> list[dict[str, Any]]:
        """Every Reality Modeling job, in wire form, in listing order."""
        return list(self.bentley.catalog.jobs.values())

    def output_ids(self, itwin_id: str | None = None) -> list[str]:
        """Ids of the produced v1 job outputs (each a container of the built-in blob host)."""
        return [
            output_id
            for output_id, item in reality_data_of(self.bentley_jobs()).items()
            if itwin_id is None or item["iTwinId"] == itwin_id
        ]

    def expected_blobs(self, output_id: str | None = None) -> list[ExpectedBlob]:
        """Every blob of one container (default: of all), with size, sha256, MD5 and ETag.

        A container is a v1 output id, a v2 output's reality data id, or an iTwin's bucket
        (:meth:`bucket_container`); :meth:`expected_v2_blobs` gathers those of a v2 job.
        """
        return self.blobs.expected(None if output_id is None else [output_id])

    def change_blob(self, output_id: str, name: str) -> ExpectedBlob:
        """Give blob ``name`` of ``output_id`` new bytes and a new ETag (same size)."""
        self.blobs.change(output_id, name)
        return next(b for b in self.expected_blobs(output_id) if b.name == name)

    # -- Reality Modeling v2 and Reality Analysis v2 ---------------------------------------

    @property
    def reality_modeling_v2_url(self) -> str:
        """Base URL of Reality Modeling v2 (as ``https://api.bentley.com/reality-modeling``)."""
        return self.bentley_url + MODELING_PREFIX

    @property
    def reality_analysis_url(self) -> str:
        """Base URL of Reality Analysis v2 (as ``https://api.bentley.com/reality-analysis``)."""
        return self.bentley_url + ANALYSIS_PREFIX

    def v2_jobs(self, api: Literal["modeling", "analysis"] = "modeling") -> list[dict[str, Any]]:
        """Every v2 job of one API as the emulator holds it now (wire form, in listing order)."""
        store = self.bentley.modeling if api == "modeling" else self.bentley.analysis
        return [job.wire for job in store.all()]

    def _v2(self, job_id: str) -> V2Job:
        for store in self.bentley.v2_stores:
            job = store.get(job_id)
            if job is not None:
                return job
        raise KeyError(job_id)

    def v2_job(self, job_id: str) -> dict[str, Any]:
        """One v2 job (Modeling or Analysis) as the emulator holds it now (wire form)."""
        return self._v2(job_id).wire

    def v2_messages(self, job_id: str) -> dict[str, list[dict[str, Any]]]:
        """The errors and warnings of a v2 job."""
        return self._v2(job_id).messages

    def set_v2_progress(self, job_id: str, percentage: float, speed: float | None = None) -> None:
        """Put a running v2 job at ``percentage`` (100: it succeeds), optionally changing how
        fast it moves on (percent per second; 0 holds it there)."""
        job = self._v2(job_id)
        store = next(s for s in self.bentley.v2_stores if job.id in s.jobs)
        store.set_progress(job, percentage, speed)

    def bucket_container(self, itwin_id: str) -> str:
        """The built-in blob container of an iTwin's bucket (``bucket-<iTwinId>``)."""
        return bucket_container(itwin_id)

    def expected_v2_blobs(self, job_id: str) -> list[ExpectedBlob]:
        """Every blob of a v2 job's outputs: its reality data containers and, for ``bkt:``
        outputs, the bucket blobs at that name or under that prefix (empty until Success)."""
        job = self._v2(job_id)
        if job.state != "Success":
            return []
        out: list[ExpectedBlob] = []
        bucket = bucket_container(job.wire["iTwinId"])
        for _name, location in job.locations():
            if location.startswith("bkt:"):
                path = location[4:]
                out += [
                    b
                    for b in self.expected_blobs(bucket)
                    if b.name == path or b.name.startswith(path + "/")
                ]
            else:
                out += self.expected_blobs(location)
        return out

    def _containers(self) -> list[str]:
        names = list(reality_data_of(self.bentley_jobs()))
        names += self.bentley.v2_reality_data()
        names += [bucket_container(i) for i in self.bentley.catalog.itwins]
        return names

    def _bucket_layout(self, container: str) -> list[tuple[str, int, int]] | None:
        if not container.startswith("bucket-"):
            return None
        return self.bentley.bucket_layout(container.removeprefix("bucket-"))

    # -- jobs that complete, webhook deliveries ------------------------------------------------

    def _on_loop(self, call: Callable[[], T]) -> T:
        """``call()`` on the emulator's event loop (at once when already on it)."""
        loop = self._loop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is None or here is loop:
            return call()

        async def run() -> T:
            return call()

        return asyncio.run_coroutine_threadsafe(run(), loop).result()

    def new_hover_jobs(self, count: int) -> list[int]:
        """``count`` new Hover jobs, listed as ``processing`` until completed; their ids."""
        return self._on_loop(lambda: self._completions.new_hover_jobs(count))

    def new_bentley_jobs(self, count: int) -> list[str]:
        """``count`` new Reality Modeling v2 jobs, ``Queued`` until completed; their ids."""
        return self._on_loop(lambda: self._completions.new_bentley_jobs(count))

    def complete_hover_jobs(self, job_ids: Sequence[int]) -> None:
        """Complete new Hover jobs now (files downloadable) and send their events.

        Each posts ``model-state-changed`` per model, then ``job-state-changed`` (``complete``).
        """

        def run() -> None:
            for job_id in job_ids:
                self._completions.complete_hover(job_id)

        self._on_loop(run)

    def complete_bentley_jobs(self, job_ids: Sequence[str]) -> None:
        """Complete new v2 jobs now (``Success``, outputs downloadable) and send
        ``realityModeling.jobCompleted.v2`` for each."""

        def run() -> None:
            for job_id in job_ids:
                self._completions.complete_bentley(job_id)

        self._on_loop(run)

    def complete_jobs(self, *, hover: int = 0, bentley: int = 0) -> tuple[list[int], list[str]]:
        """Make ``hover`` Hover and ``bentley`` v2 jobs and complete them now; their ids."""
        hover_ids, bentley_ids = self.new_hover_jobs(hover), self.new_bentley_jobs(bentley)
        self.complete_hover_jobs(hover_ids)
        self.complete_bentley_jobs(bentley_ids)
        return hover_ids, bentley_ids

    async def complete_over_time(
        self, hover: Sequence[int], bentley: Sequence[str], every: float
    ) -> None:
        """Complete these new jobs one every ``every`` seconds, Hover and v2 in turn (held
        deliveries go out at each step); for the ``emulator`` command, not tests."""
        await self._completions.over_time(hover, bentley, every)

    def release_deliveries(self) -> int:
        """Send the held deliveries (``hold`` and unpaired ``reorder``); how many."""
        return self._on_loop(self.deliveries.release)

    def settle_deliveries(self, timeout: float = 30.0) -> None:
        """From another thread: wait until no delivery is queued or in flight (held ones
        aside), at most ``timeout`` seconds (then ``TimeoutError``)."""
        loop = self._loop
        assert loop is not None, "the emulator is not running"
        future = asyncio.run_coroutine_threadsafe(self.deliveries.settled(), loop)
        future.result(timeout)

    def add_hover_webhook(self, url: str, *, verified: bool = True) -> HoverRegistration:
        """Register a Hover webhook without the API (verified: events go to it at once; no
        verification event is sent). Its secret is ``.hmac_secret``."""

        def run() -> HoverRegistration:
            hook = self.hover_webhooks.add(url)
            if verified:
                hook.verified_at = hook.created_at
            return hook

        return self._on_loop(run)

    def add_bentley_webhook(
        self,
        url: str,
        event_types: Sequence[str] = ("realityModeling.jobCompleted.v2",),
        *,
        active: bool = True,
        itwin_id: str | None = None,
    ) -> BentleyRegistration:
        """Create a Bentley webhook without the API (active unless told; any URL scheme).
        Its secret is ``.secret``."""
        hooks = self.bentley_webhooks
        return self._on_loop(
            lambda: hooks.add(url, list(event_types), active=active, itwin_id=itwin_id)
        )

    @property
    def refresh_token(self) -> str:
        """The refresh token that is valid now."""
        return self.accounts.refresh_token

    def script(self, fragment: str, *faults: Fault) -> None:
        """Answer the next requests whose path contains ``fragment`` with ``faults``."""
        self.faults.script(fragment, *faults)

    def set_faults(self, host: str, faults: FaultConfig | None) -> None:
        """Give ``host`` (see :data:`~.config.HOSTS`) random faults of its own, at run time.

        ``None`` puts it back on :attr:`EmulatorConfig.faults` (now ``self.faults.config``).
        """
        self.faults.set_host(host, faults)

    def outage(self, host: str, seconds: float | None = None, mode: Mode = "reset") -> None:
        """Start an outage of ``host`` now: every connection reset (or ``mode="503"``).

        It lasts ``seconds``, or until :meth:`end_outage` when ``None``.
        """
        self.faults.outages.start(host, seconds, mode)

    def end_outage(self, host: str | None = None) -> None:
        """End the outage of ``host`` (of every host when ``None``), scheduled ones too."""
        self.faults.outages.end(host)

    def outages_active(self) -> list[str]:
        """The hosts in an outage now."""
        return self.faults.outages.active()

    def requests_to(self, target: str, fragment: str = "") -> list[RecordedRequest]:
        """Requests seen by one port (``hover``, ``storage``, ``bentley``, ``blob``) whose path
        and query contain ``fragment``."""
        return [r for r in self.requests if r.target == target and fragment in r.path_qs]

    @classmethod
    @contextmanager
    def threaded(cls, config: EmulatorConfig | None = None, **kwargs: Any) -> Iterator[Emulator]:
        """Run an emulator on its own event loop in a background thread."""
        emulator = cls(config, **kwargs)
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(emulator.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(emulator.stop())
            loop.close()

        thread = threading.Thread(target=run, name="hoverbentley-emulator", daemon=True)
        thread.start()
        ready.wait()
        try:
            yield emulator
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()


def serve(
    config: EmulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    storage_port: int = 0,
    bentley_port: int = 0,
    blob_port: int = 0,
    complete_jobs: int = 0,
    complete_v2_jobs: int = 0,
    complete_every: float = 5.0,
) -> None:
    """Run the emulator in the foreground until interrupted.

    With ``complete_jobs`` (Hover) or ``complete_v2_jobs`` (Reality Modeling v2), that many
    new jobs wait, processing, until a webhook can take events, then complete one every
    ``complete_every`` seconds, each sending its events; Bentley webhooks may then have an
    ``http://`` callback URL (a local receiver).
    """

    async def main() -> None:
        async with Emulator(
            config,
            host=host,
            port=port,
            storage_port=storage_port,
            bentley_port=bentley_port,
            blob_port=blob_port,
        ) as emu:
            cfg = emu.config
            user = sorted(cfg.user_emails)[0]
            print(f"Hover API    {emu.hover_url}  (token {cfg.token!r}, current_user_email={user})")
            print(f"File storage {emu.storage_url}")
            print(
                f"Bentley      {emu.reality_modeling_url}  (token {cfg.bentley.token!r},"
                f" IMS {emu.ims_token_url})"
            )
            print(f"  v2         {emu.reality_modeling_v2_url}  {emu.reality_analysis_url}")
            print(f"  reality    {emu.reality_management_url}  (where job outputs are)")
            print(f"  webhooks   {emu.webhooks_url}")
            print(f"Blob storage {emu.blob_url}  (one container per job output)")
            print(f"Expected files: {emu.hover_url}/_emulator/files   Ctrl-C to stop")
            if complete_jobs or complete_v2_jobs:
                emu.bentley_webhooks.allow_http = True
                hover = emu.new_hover_jobs(complete_jobs)
                v2 = emu.new_bentley_jobs(complete_v2_jobs)
                print(
                    f"Completing   {len(hover)} Hover and {len(v2)} v2 jobs, one every"
                    f" {complete_every:g} s, once a webhook is verified or active",
                    flush=True,
                )
                await emu.complete_over_time(hover, v2, complete_every)
                print("Completed    every new job", flush=True)
            await asyncio.Event().wait()

    with suppress(KeyboardInterrupt):
        asyncio.run(main())
