"""Helpers of the service tests: signed deliveries, and the service over the emulator."""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp

from hoverbentley.archive import ArchiveOptions
from hoverbentley.archive.bentley_source import BentleySource
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.bentley import RealityManagementClient
from hoverbentley.bentley.webhook_events import sign_bentley_event
from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from hoverbentley.hover.webhook_events import sign_hover_event
from hoverbentley.serve.app import SERVICE, ServeSettings, Service, create_app
from hoverbentley.serve.archiver import ArchiverSettings, SourceFactory
from hoverbentley.serve.journal import Journal
from tests.archive.helpers import FAST_HTTP, SMALL_SIZES, MiB, big_pdfs
from tests.support import hover_client, reality_modeling, serve

#: Two small jobs, the first with a big PDF a test can hold half-way (``hold_big_files``).
HELD = EmulatorConfig(
    jobs=2,
    include_seed_jobs=False,
    sizes=SMALL_SIZES,
    size_overrides=big_pdfs(1, 4 * MiB),
    faults=FaultConfig(stall_seconds=600),
)


def releasable_stalls(emu: Emulator) -> threading.Event:
    """An event that, once set, ends every stalled body (the connection is then reset and the
    client resumes the file): a held run can be let go at a moment the test chooses."""
    release = threading.Event()
    original: Callable[..., Any] = emu.faults.sleep

    async def sleep(seconds: float, gone: Callable[[], bool] | None = None) -> None:
        await original(seconds, lambda: release.is_set() or (gone is not None and gone()))

    emu.faults.sleep = sleep  # type: ignore[method-assign]
    return release


HOVER_SECRET = "hover-secret-0123456789abcdef0123456789"
BENTLEY_SECRET = "bentley-secret-0123456789abcdef012345678"
#: The path of the public URL the Hover webhook is registered with (behind a proxy, say).
PUBLIC_PATH = "/public/prefix/hooks/hover"


def hover_body(job_id: int | str, state: str = "completed", **extra: Any) -> bytes:
    event = {"event": "job-state-changed", "job_id": job_id, "state": state, **extra}
    return json.dumps(event).encode()


def bentley_body(
    job_id: str,
    *,
    message_id: str | None = None,
    enqueued: str | None = None,
    **content: Any,
) -> bytes:
    """A Bentley event of ``job_id``, enqueued now unless ``enqueued`` says when."""
    event = {
        "eventType": "realityModeling.jobCompleted.v1",
        "content": {"jobId": job_id, **content},
        "messageId": message_id or str(uuid.uuid4()),
        "webhookId": "wh-1",
        "iTwinId": "itwin",
        "enqueuedDateTime": enqueued or datetime.now(timezone.utc).isoformat(),
    }
    return json.dumps(event).encode()


def hover_headers(
    body: bytes, *, secret: str = HOVER_SECRET, uri: str = PUBLIC_PATH, date: datetime | None = None
) -> dict[str, str]:
    return sign_hover_event(body, secret=secret, request_uri=uri, date=date)


def bentley_headers(body: bytes, *, secret: str = BENTLEY_SECRET) -> dict[str, str]:
    return sign_bentley_event(body, secret=secret)


async def post(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str]]:
    data = io.BytesIO(body) if len(body) > 512 * 1024 else body  # aiohttp warns of big bytes
    async with session.post(url, data=data, headers=headers) as response:
        await response.read()
        return response.status, dict(response.headers)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of sample ``name`` with exactly ``labels`` in Prometheus text (0 if absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        sample_name, _, rest = sample.partition("{")
        got = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if sample_name == name and got == wanted:
            return float(value)
    return 0.0


@dataclass
class Running:
    """A service running on loopback: its URL, its object, and a client session."""

    url: str
    service: Service
    session: aiohttp.ClientSession

    async def hover(self, body: bytes, headers: dict[str, str] | None = None) -> int:
        status, _ = await post(
            self.session, f"{self.url}/hooks/hover", body, headers or hover_headers(body)
        )
        return status

    async def bentley(self, body: bytes, headers: dict[str, str] | None = None) -> int:
        status, _ = await post(
            self.session, f"{self.url}/hooks/bentley", body, headers or bentley_headers(body)
        )
        return status

    async def metrics(self) -> str:
        async with self.session.get(f"{self.url}/metrics") as response:
            return await response.text()


def settings(out: Path | str, state: Path, **changes: Any) -> ServeSettings:
    base = ServeSettings(
        out=str(out),
        state_dir=state,
        hover_secret=HOVER_SECRET,
        bentley_secret=BENTLEY_SECRET,
        hover_request_uri=PUBLIC_PATH,
        archiver=ArchiverSettings(
            options=ArchiveOptions(concurrency=4, retries=1), sweep_interval=None
        ),
    )
    return replace(base, **changes)


@asynccontextmanager
async def running(
    emu: Emulator,
    config: ServeSettings,
    *,
    journal: Journal | None = None,
    sources: dict[str, SourceFactory] | None = None,
) -> AsyncIterator[Running]:
    """The service over the emulator's Hover and Bentley v1 hosts, on loopback."""
    async with (
        hover_client(emu, http=FAST_HTTP) as hover,
        reality_modeling(emu) as rm,
        RealityManagementClient(
            base_url=emu.reality_management_url, auth=rm.auth, http=rm.http
        ) as reality,
    ):
        default: dict[str, SourceFactory] = {
            "hover": lambda ids: HoverSource(hover, job_ids=[int(i) for i in ids]),
            "bentley-v1": lambda ids: BentleySource(rm, job_ids=ids, reality=reality),
        }
        app = create_app(config, default if sources is None else sources, journal=journal)
        async with serve(app) as url, aiohttp.ClientSession() as session:
            yield Running(url, app[SERVICE], session)
