"""Reality Analysis v2 against a mock made from Bentley's official OpenAPI document (Prism).

The client's own requests go to a recording proxy in front of Prism: the tests assert on what
the client really sent (its ``Accept``, its ``Authorization``, its paths and queries), and Prism
(``--errors``) answers a request that breaks the document with an error instead of an example.
The proxy adds ``application/json`` to ``Accept`` on the way, since Prism negotiates on the
content type the document declares while the service answers the vendor type with JSON. The
document declares a subscription-key gateway scheme, so the client is given a subscription
key, which it sends as ``X-Api-Subscription-Key``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from hoverbentley.bentley import F, RealityAnalysisClient
from hoverbentley.bentley.v2 import CancellationRefused
from hoverbentley.bentley.v2_models import ACCEPT_V2
from hoverbentley.config import HttpConfig
from hoverbentley.errors import ConfigurationError, NotFoundError, RateLimitError
from tests.services import ROOT, prism_mock
from tests.support import serve

pytestmark = pytest.mark.anyio
SPEC = ROOT / "tests" / "specs" / "reality-analysis-v2.json"
ITWIN = "019b18b4-e4c1-4211-b8bb-1bd26b8e955e"
JOB = "eba823ca-f8e3-4ebb-be5f-6bc77aadbe14"
FAST = HttpConfig(requests_per_minute=None, max_retries=1, backoff_base=0.01, retry_after_max=0.05)


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with prism_mock(SPEC, tmp_path_factory.mktemp("prism-v2")) as url:
        yield url


@dataclass
class Proxy:
    url: str
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    prefer: str | None = None


@pytest.fixture
async def proxy(prism: str) -> AsyncIterator[Proxy]:
    box: list[Proxy] = []
    session = aiohttp.ClientSession(auto_decompress=False)

    async def forward(request: web.Request) -> web.StreamResponse:
        box[0].seen.append((request.method, request.path_qs, dict(request.headers)))
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        headers["Accept"] = f"{request.headers.get('Accept', '')}, application/json;q=0.9"
        if box[0].prefer:
            headers["Prefer"] = box[0].prefer
        async with session.request(
            request.method, prism + request.path_qs, headers=headers, data=await request.read()
        ) as upstream:
            body = await upstream.read()
            keep = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() in {"content-type", "retry-after"}
            }
            return web.Response(status=upstream.status, body=body, headers=keep)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    async with serve(app) as url:
        box.append(Proxy(url))
        yield box[0]
    await session.close()


def client(base_url: str) -> RealityAnalysisClient:
    return RealityAnalysisClient(
        token="contract-token", base_url=base_url, subscription_key="contract-key", http=FAST
    )


async def test_every_shared_operation_is_accepted_and_decoded(proxy: Proxy) -> None:
    async with client(proxy.url) as ra:
        page = await ra.list_jobs(F.itwin_id.eq(ITWIN), top=10)
        job = await ra.get_job(JOB)
        progress = await ra.get_progress(JOB)
        messages = await ra.get_messages(JOB)
        cancelled = await ra.cancel_job(JOB)
        created = await ra.create_job(
            {
                "type": "Objects2D",
                "name": "My first Objects2D job",
                "iTwinId": ITWIN,
                "specifications": {
                    "inputs": {
                        "photos": "df091f39-377c-48fb-a9c9-9fd0998e151a",
                        "photoObjectDetector": "9a125f8a-da72-41d8-8482-2f7b179d732e",
                    },
                    "outputs": ["Objects2D"],
                    "options": {"maxDist": 2, "useTiePoints": True},
                },
            }
        )
        bucket = await ra.get_bucket(ITWIN)
        files = await ra.list_files()
        detectors = await ra.list_detectors()
        detector = await ra.get_detector(detectors[0].name)
    assert page.jobs and page.jobs[0].id == JOB and page.jobs[0].type == "Segmentation3D"
    assert page.jobs[0].output_ids()["segmentation3D"] == "4a770816-f9b0-45e5-9b8c-143269d687ac"
    assert page.jobs[0].execution_info is not None
    assert page.jobs[0].execution_info.created is not None
    assert job.id and job.state and created.id and cancelled.state
    assert 0 <= progress.percentage <= 100 and progress.state
    assert isinstance(messages.errors, list) and isinstance(messages.warnings, list)
    assert bucket.startswith("https://") and "sig=" in bucket
    assert files and files[0].id
    assert detectors and detectors[0].name and detector.name and detector.versions
    for method, path, headers in proxy.seen:
        assert headers["Accept"] == ACCEPT_V2, (method, path)
        assert headers["Authorization"] == "Bearer contract-token"
    methods = [(m, p.split("?")[0]) for m, p, _ in proxy.seen]
    assert ("DELETE", f"/jobs/{JOB}") in methods and ("POST", "/jobs") in methods
    assert proxy.seen[0][1] == f"/jobs?$filter=iTwinId%20eq%20{ITWIN}&$top=10"


@pytest.mark.parametrize(
    ("prefer", "error"),
    [("code=404", NotFoundError), ("code=422", CancellationRefused), ("code=429", RateLimitError)],
)
async def test_documented_errors_are_typed(
    proxy: Proxy, prefer: str, error: type[Exception]
) -> None:
    proxy.prefer = prefer
    async with client(proxy.url) as ra:
        with pytest.raises(error) as caught:
            await ra.cancel_job(JOB)
    assert type(caught.value) is error
    assert "contract-token" not in str(caught.value)


async def test_what_v2_lacks_is_refused_before_sending(proxy: Proxy) -> None:
    async with client(proxy.url) as ra:
        with pytest.raises(ConfigurationError, match="v2 \\$filter has no inputId"):
            await ra.list_jobs(F.itwin_id.eq(ITWIN) & F.input_id.eq(JOB))
        with pytest.raises(ConfigurationError, match="v2 \\$filter has no in operator"):
            await ra.list_jobs(F.state.in_(["Success", "Failed"]))
        with pytest.raises(ConfigurationError, match="\\$top must be"):
            await ra.list_jobs(F.itwin_id.eq(ITWIN), top=1001)
        with pytest.raises(ConfigurationError, match="specifications need outputs"):
            await ra.create_job(
                {"type": "Objects2D", "iTwinId": ITWIN, "specifications": {"inputs": {}}}
            )
    assert proxy.seen == []
