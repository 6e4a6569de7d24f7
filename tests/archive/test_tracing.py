"""OpenTelemetry: a caller's aiohttp session instrumented by opentelemetry-instrumentation-
aiohttp-client sees every request of an archive, API calls and storage downloads alike, with
the signatures of storage URLs redacted."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from opentelemetry.instrumentation.aiohttp_client import create_trace_config
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from yarl import URL

from hoverbentley import BentleySource, HoverSource, RealityManagementClient, archive
from hoverbentley.bentley import F
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.errors import ConfigurationError
from hoverbentley.redact import REDACTED, redact_url
from tests.support import FAST, hover_client, reality_modeling

pytestmark = pytest.mark.anyio
EMULATOR = EmulatorConfig(jobs=2)


def tracing() -> tuple[aiohttp.TraceConfig, InMemorySpanExporter]:
    """The trace config an instrumented application makes, spans kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    def without_secrets(url: URL) -> str:
        return redact_url(str(url))

    return create_trace_config(url_filter=without_secrets, tracer_provider=provider), exporter


def traced_session() -> tuple[aiohttp.ClientSession, InMemorySpanExporter]:
    """A session as an instrumented application has it, spans kept in memory."""
    config, exporter = tracing()
    return aiohttp.ClientSession(trace_configs=[config]), exporter


def span_url(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    return str(attributes.get("url.full") or attributes.get("http.url"))


def by_origin_and_path(urls: list[str]) -> Counter[tuple[str, str]]:
    return Counter((f"{p.scheme}://{p.netloc}", p.path) for p in map(urlsplit, urls))


def assert_one_span_per_request(emu: Emulator, spans: tuple[ReadableSpan, ...]) -> None:
    origins = {"hover": emu.hover_url, "storage": emu.storage_url, "bentley": emu.bentley_url}
    origins["blob"] = emu.blob_url.rsplit("/", 1)[0]
    sent = [origins[r.target] + r.path for r in emu.requests]
    urls = [span_url(span) for span in spans]
    assert by_origin_and_path(urls) == by_origin_and_path(sent)
    signed = [r for r in emu.requests if "sig=" in r.query_string or "Signature" in r.query_string]
    assert signed, "the archive downloaded from signed storage URLs"
    for request in signed:
        secret = request.query.get("sig") or request.query.get("X-Signature")
        assert secret and all(secret not in url for url in urls)
    assert any(REDACTED in url for url in urls)


async def test_every_hover_api_request_and_download_is_a_span(
    emu: Emulator, tmp_path: Path
) -> None:
    session, exporter = traced_session()
    async with session:
        async with hover_client(emu, session=session) as hover:
            summary = await archive(HoverSource(hover, job_ids=emu.job_ids()), tmp_path)
        assert not session.closed  # the caller's session is the caller's to close
    spans = exporter.get_finished_spans()
    assert summary.downloaded == len(emu.expected_files()) and not summary.failures
    assert_one_span_per_request(emu, spans)
    storage = [s for s in spans if span_url(s).startswith(emu.storage_url)]
    assert len(storage) == summary.downloaded


async def test_trace_configs_trace_the_session_the_client_opens(
    emu: Emulator, tmp_path: Path
) -> None:
    config, exporter = tracing()
    async with hover_client(emu, trace_configs=[config]) as hover:
        summary = await archive(HoverSource(hover, job_ids=emu.job_ids()), tmp_path)
    assert summary.downloaded == len(emu.expected_files()) and not summary.failures
    assert_one_span_per_request(emu, exporter.get_finished_spans())


async def test_trace_configs_and_a_callers_session_are_refused_together() -> None:
    config, _ = tracing()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ConfigurationError, match="give them to your session"):
            RealityManagementClient(token="t", session=session, trace_configs=[config])


async def test_every_bentley_api_request_and_blob_download_is_a_span(
    emu: Emulator, tmp_path: Path
) -> None:
    session, exporter = traced_session()
    itwin = emu.itwin_ids[1]
    async with (
        session,
        reality_modeling(
            emu,
            session=session,
            client_id=emu.config.bentley.client_id,
            client_secret=emu.config.bentley.client_secret,
            token_url=emu.ims_token_url,
        ) as rm,
        RealityManagementClient(
            auth=rm.auth, base_url=emu.reality_management_url, http=FAST, session=session
        ) as reality,
    ):
        source = BentleySource(
            rm, F.itwin_id.eq(itwin), reality=reality, outputs=frozenset({"OBJ"})
        )
        summary = await archive(source, tmp_path)
    spans = exporter.get_finished_spans()
    assert summary.downloaded and not summary.failures
    assert emu.requests_to("bentley", "/connect/token")  # the token request is a span too
    assert_one_span_per_request(emu, spans)
    downloads = [
        s for s in spans if span_url(s).startswith(emu.blob_url) and "comp=list" not in span_url(s)
    ]
    assert len(downloads) == summary.downloaded
