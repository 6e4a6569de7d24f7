"""The ``bentley`` commands with ``--service analysis`` against a mock made from Bentley's
official Reality Analysis v2 OpenAPI document (Prism, ``--errors``).

A recording proxy in front of Prism keeps what the CLI really sent; on the way it adds
``application/json`` to ``Accept`` (Prism negotiates on the document's content type) and the
subscription key the document's gateway scheme asks for; it drops the next link of the jobs
example, which points at api.bentley.com.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.services import ROOT, prism_mock
from tests.support import cli_env, serve_in_thread

from .helpers import FAST, error_line, hb

SPEC = ROOT / "tests" / "specs" / "reality-analysis-v2.json"
ACCEPT_V2 = "application/vnd.bentley.itwin-platform.v2+json"
ITWIN = "019b18b4-e4c1-4211-b8bb-1bd26b8e955e"
JOB = "eba823ca-f8e3-4ebb-be5f-6bc77aadbe14"


@dataclass
class Proxy:
    url: str = ""
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    prefer: str | None = None


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with prism_mock(SPEC, tmp_path_factory.mktemp("prism-cli")) as url:
        yield url


@pytest.fixture(scope="module")
def proxy(prism: str) -> Iterator[Proxy]:
    state = Proxy()
    sessions: list[aiohttp.ClientSession] = []

    async def forward(request: web.Request) -> web.StreamResponse:
        state.seen.append((request.method, request.path_qs, dict(request.headers)))
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        headers["Accept"] = f"{request.headers.get('Accept', '')}, application/json;q=0.9"
        headers["X-Api-Subscription-Key"] = "contract-key"
        if state.prefer:
            headers["Prefer"] = state.prefer
        if not sessions:
            sessions.append(aiohttp.ClientSession(auto_decompress=False))
        async with sessions[0].request(
            request.method, prism + request.path_qs, headers=headers, data=await request.read()
        ) as upstream:
            body = await upstream.read()
            if request.path == "/jobs" and upstream.status == 200:
                # The example's next link leads to api.bentley.com: end the listing here.
                page = json.loads(body)
                page.pop("_links", None)
                body = json.dumps(page).encode()
            keep = {k: v for k, v in upstream.headers.items() if k.lower() == "content-type"}
            return web.Response(status=upstream.status, body=body, headers=keep)

    async def close(_app: web.Application) -> None:
        for session in sessions:
            await session.close()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    app.on_cleanup.append(close)
    with serve_in_thread(app) as url:
        state.url = url
        yield state


@pytest.fixture
def seen(proxy: Proxy) -> Iterator[Proxy]:
    proxy.seen.clear()
    proxy.prefer = None
    yield proxy
    proxy.prefer = None


def analysis(proxy: Proxy, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = cli_env(BENTLEY_TOKEN="contract-token", BENTLEY_ANALYSIS_BASE_URL=proxy.url)
    return hb("bentley", *args, "--service", "analysis", "--max-retries", "0", *FAST, env=env)


def test_the_cli_requests_are_those_of_the_document(seen: Proxy, tmp_path: Path) -> None:
    job_file = tmp_path / "job.json"
    job_file.write_text(
        json.dumps(
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
                },
            }
        )
    )
    listed = analysis(seen, "jobs", "--filter", f"iTwinId eq {ITWIN}", "--top", "10")
    shown = analysis(seen, "job", JOB)
    created = analysis(seen, "create", job_file, "--json")
    cancelled = analysis(seen, "cancel", JOB)
    for result in (listed, shown, created, cancelled):
        assert result.returncode == 0, result.stderr
    assert listed.stdout.split("\t")[0] == JOB
    # Prism answers the document's examples: a Segmentation2D job, whatever the id.
    assert shown.stdout.startswith("job ") and "\n  output " in shown.stdout
    assert json.loads(created.stdout)["id"]
    assert cancelled.stdout.count("\t") == 1
    assert [(m, p) for m, p, _ in seen.seen] == [
        ("GET", f"/jobs?$filter=iTwinId%20eq%20{ITWIN}&$top=10"),
        ("GET", f"/jobs/{JOB}"),
        ("POST", "/jobs"),
        ("DELETE", f"/jobs/{JOB}"),
    ]
    for _, _, headers in seen.seen:
        assert headers["Accept"] == ACCEPT_V2
        assert headers["Authorization"] == "Bearer contract-token"


def test_wait_on_a_job_that_stays_active_gives_up_at_max_wait(seen: Proxy) -> None:
    result = analysis(seen, "wait", JOB, "--max-wait", "0", "--poll-interval", "15")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == f"job {JOB}: 5% Active"
    last = result.stderr.splitlines()[-1]
    assert last.startswith("hoverbentley: error: gave up waiting after --max-wait 0 s: ")
    assert [(m, p) for m, p, _ in seen.seen] == [("GET", f"/jobs/{JOB}/progress")]


def test_a_documented_422_on_cancel_is_exit_1_with_the_reason(seen: Proxy) -> None:
    seen.prefer = "code=422"
    result = analysis(seen, "cancel", JOB)
    assert result.returncode == 1
    assert error_line(result).startswith(f"hoverbentley: error: job {JOB} cannot be cancelled now")


def test_a_documented_404_is_exit_1(seen: Proxy) -> None:
    seen.prefer = "code=404"
    result = analysis(seen, "job", JOB)
    assert result.returncode == 1
    assert "404" in error_line(result)
