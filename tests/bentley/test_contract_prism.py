"""The clients against mocks generated from Bentley's official OpenAPI documents (Prism).

Prism runs with ``--errors``: a request that breaks the document (a missing or malformed
header, a body of the wrong shape, a bad parameter, an unknown path) is answered with an error
instead of an example, so every call below checks the requests the clients really make (their
own headers, paths and query strings); decoding Prism's examples checks our models. The
documents are the repository's copies in ``tests/specs``; see the README there for the two
ways the copy served to Prism differs (no API-management key scheme, the vendor media type).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hoverbentley.bentley.base import ACCEPT_V1
from hoverbentley.bentley.client import RealityModelingClient
from hoverbentley.bentley.reality import RealityManagementClient
from hoverbentley.errors import NotFoundError, RateLimitError, UnprocessableEntityError
from tests.services import prism_mock
from tests.support import fast

pytestmark = pytest.mark.anyio
SPECS = Path(__file__).resolve().parent.parent / "specs"
DIGESTS = {
    "contextcapture.json": "dc952a24775b949d8b29a519046bf07b6d2e7c68fe4510829f6e3f1a6d6b5b6d",
    "reality-management.json": "aa1ca6d1d29f55a3854537d1f70e316d5e6cbc845092e4b38770e6df9724e648",
}
ITWIN = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
REALITY_DATA = "95d8dccd-d89e-4287-bb5f-3219acbc71ae"
TOKEN = "contract-token"
FAST = fast(max_retries=1, retry_after_max=0.05)


def served_document(spec: dict[str, Any]) -> dict[str, Any]:
    """The document as Prism serves it (see tests/specs/README.md)."""
    spec.pop("security", None)
    # The media type the document recommends for Accept (not the client's own constant).
    vendor = spec["components"]["schemas"]["AcceptHeader"]["default"]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("security", None)
            content = node.get("content")
            if isinstance(content, dict) and "application/json" in content:
                content.setdefault(vendor, content["application/json"])
            links = node.get("_links")
            if isinstance(links, dict):
                links.pop("next", None)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return spec


@pytest.mark.parametrize("name", list(DIGESTS))
def test_documents_are_the_published_ones(name: str) -> None:
    assert hashlib.sha256((SPECS / name).read_bytes()).hexdigest() == DIGESTS[name]


def _prism(name: str, factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = factory.mktemp("prism")
    document = workdir / name
    document.write_text(json.dumps(served_document(json.loads((SPECS / name).read_bytes()))))
    with prism_mock(document, workdir) as url:
        yield url


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _prism("contextcapture.json", tmp_path_factory)


@pytest.fixture(scope="module")
def prism_reality(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _prism("reality-management.json", tmp_path_factory)


def client(base_url: str, session: aiohttp.ClientSession | None = None) -> RealityModelingClient:
    return RealityModelingClient(token=TOKEN, base_url=base_url, http=FAST, session=session)


async def test_list_jobs_page_decodes_the_documented_example(prism: str) -> None:
    async with client(prism) as rm:
        page = await rm.list_jobs(f"iTwinId eq {ITWIN}", top=10)
    assert page.jobs, "the document's example holds at least one job"
    job = page.jobs[0]
    assert job.id and job.name and job.state
    assert job.job_settings is not None and job.job_settings.outputs


async def test_every_job_operation_is_accepted_by_the_document(prism: str) -> None:
    async with client(prism) as rm:
        job = await rm.get_job("cc3d35cc-416a-4262-9714-b359da70b419")
        assert job.id
        created = await rm.create_job(
            {
                "type": "Full",
                "name": "contract",
                "workspaceId": "6881117d-9fd2-4900-870b-9b721dc90f25",
                "inputs": [{"id": "58e0c0ca-f730-4e5b-808d-1c8cacacb4d4"}],
                "settings": {"quality": "Medium", "outputs": ["OBJ", "Cesium 3D Tiles"]},
            }
        )
        assert created.id
        assert (await rm.submit_job(created.id)).id
        assert (await rm.cancel_job(created.id)).id
        await rm.delete_job(created.id)
        progress = await rm.get_progress(created.id)
        assert progress.state
        workspace = await rm.create_workspace("contract", ITWIN)
        assert workspace.id
        assert (await rm.get_workspace(workspace.id)).name
        await rm.delete_workspace(workspace.id)
        limits = await rm.engine_limits(ITWIN)
        assert limits.max_engines is not None


async def test_reality_data_operations_are_accepted_by_the_document(prism_reality: str) -> None:
    async with RealityManagementClient(token=TOKEN, base_url=prism_reality, http=FAST) as mgmt:
        listed = [r async for r in mgmt.iter_reality_data(ITWIN, top=10)]
        one = await mgmt.get_reality_data(REALITY_DATA, ITWIN)
        url = await mgmt.read_access(REALITY_DATA, ITWIN)
    assert [r.id for r in listed] == [REALITY_DATA]
    assert one.id == REALITY_DATA and one.type == "LAS"
    assert url.startswith("https://") and "sig=" in url


@pytest.mark.parametrize(
    ("prefer", "error"),
    [
        ("code=404", NotFoundError),
        ("code=422", UnprocessableEntityError),
        ("code=429", RateLimitError),
    ],
)
async def test_documented_error_bodies_map_to_typed_errors(
    prism: str, prefer: str, error: type[Exception]
) -> None:
    # ``Prefer`` asks Prism for that documented answer; it is the only header added here.
    async with (
        aiohttp.ClientSession(headers={"Prefer": prefer}) as session,
        client(prism, session) as rm,
    ):
        with pytest.raises(error) as info:
            await rm.list_jobs(f"iTwinId eq {ITWIN}", top=10)
    exc = info.value
    assert getattr(exc, "code", None), "the documented example carries an error code"
    assert TOKEN not in str(exc)


async def test_a_request_that_breaks_the_document_is_refused(prism: str) -> None:
    """The mock is strict: without the Authorization header the document requires, no data."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{prism}/jobs",
            params={"$filter": f"iTwinId eq {ITWIN}"},
            headers={"Accept": ACCEPT_V1},
        ) as resp,
    ):
        assert resp.status in (401, 422)
        assert "sl-violations" in {k.lower() for k in resp.headers}
