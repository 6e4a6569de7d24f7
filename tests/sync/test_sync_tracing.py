"""OpenTelemetry from blocking code: a sync client cannot take a caller's aiohttp session (it
belongs to another loop), so ``trace_configs=`` go into the session it opens on its own loop."""

from __future__ import annotations

from pathlib import Path

from hoverbentley import BentleySource, HoverSource
from hoverbentley.bentley import F
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.sync import (
    SyncHoverClient,
    SyncRealityManagementClient,
    SyncRealityModelingClient,
    archive,
)
from tests.archive.test_tracing import assert_one_span_per_request, span_url, tracing
from tests.support import FAST, user_email

EMULATOR = EmulatorConfig(jobs=2)


def test_a_sync_hover_client_traces_every_request_and_download(
    emu_thread: Emulator, tmp_path: Path
) -> None:
    config, exporter = tracing()
    with SyncHoverClient(
        token=emu_thread.config.token,
        current_user_email=user_email(emu_thread),
        base_url=emu_thread.hover_url,
        http=FAST,
        trace_configs=[config],
    ) as hover:
        assert hover.get_job(emu_thread.job_ids()[0]).id
        summary = archive(HoverSource(hover.aio, job_ids=emu_thread.job_ids()), tmp_path)
    assert summary.downloaded == len(emu_thread.expected_files()) and not summary.failures
    spans = exporter.get_finished_spans()
    assert_one_span_per_request(emu_thread, spans)
    storage = [s for s in spans if span_url(s).startswith(emu_thread.storage_url)]
    assert len(storage) == summary.downloaded


def test_sync_bentley_clients_trace_the_token_listing_and_blob_requests(
    emu_thread: Emulator, tmp_path: Path
) -> None:
    config, exporter = tracing()
    bentley = emu_thread.config.bentley
    with (
        SyncRealityModelingClient(
            base_url=emu_thread.reality_modeling_url,
            client_id=bentley.client_id,
            client_secret=bentley.client_secret,
            token_url=emu_thread.ims_token_url,
            http=FAST,
            trace_configs=[config],
        ) as rm,
        rm.same_loop(
            SyncRealityManagementClient,
            auth=rm.auth,
            base_url=emu_thread.reality_management_url,
            http=FAST,
            trace_configs=[config],
        ) as reality,
    ):
        source = BentleySource(
            rm.aio,
            F.itwin_id.eq(emu_thread.itwin_ids[1]),
            reality=reality.aio,
            outputs=frozenset({"OBJ"}),
        )
        summary = archive(source, tmp_path)
    assert summary.downloaded and not summary.failures
    assert emu_thread.requests_to("bentley", "/connect/token")
    assert_one_span_per_request(emu_thread, exporter.get_finished_spans())
