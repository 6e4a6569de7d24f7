"""The client against a mock generated from Bentley's official OpenAPI document (Stoplight Prism).

Prism runs with ``--errors``: a request that breaks the document (a missing header, a body of
the wrong shape, a bad parameter) is answered with an error instead of an example, so every
call below checks our requests; decoding Prism's examples checks our models.
"""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest

from hoverbentley.bentley.base import ACCEPT_V1
from hoverbentley.bentley.client import RealityModelingClient
from hoverbentley.errors import NotFoundError, RateLimitError, UnprocessableEntityError
from tests.services import ROOT, find_tool, missing, running
from tests.support import fast, free_port

pytestmark = pytest.mark.anyio
SPEC = ROOT.parent / "shared" / "specs" / "contextcapture.json"
ITWIN = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
# Prism negotiates on the content type the document declares (application/json); the real
# service answers the vendor type with JSON, so both are offered, the vendor type first.
ACCEPT = f"{ACCEPT_V1}, application/json;q=0.9"
FAST = fast(max_retries=1, retry_after_max=0.05)


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tool = find_tool("prism", "HOVERBENTLEY_PRISM")
    if tool is None:
        missing("Stoplight Prism", "HOVERBENTLEY_PRISM")
    assert tool is not None
    if not SPEC.exists():
        pytest.fail(f"the OpenAPI document is missing: {SPEC}")
    port = free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    command = [tool, "mock", str(SPEC), "--host", "127.0.0.1", "--port", str(port), "--errors"]
    with running(command, port, log):
        yield f"http://127.0.0.1:{port}"


def client(base_url: str, session: aiohttp.ClientSession | None = None) -> RealityModelingClient:
    return RealityModelingClient(
        token="contract-token",
        base_url=base_url,
        accept=ACCEPT,
        subscription_key="contract-key",
        http=FAST,
        session=session,
    )


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
    async with (
        aiohttp.ClientSession(headers={"Prefer": prefer}) as session,
        client(prism, session) as rm,
    ):
        with pytest.raises(error) as info:
            await rm.list_jobs(f"iTwinId eq {ITWIN}", top=10)
    exc = info.value
    assert getattr(exc, "code", None), "the documented example carries an error code"
    assert "contract-token" not in str(exc) and "contract-key" not in str(exc)


async def test_a_request_that_breaks_the_document_is_refused(prism: str) -> None:
    """The mock is strict: without the Authorization header the document requires, no data."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{prism}/jobs", params={"$filter": f"iTwinId eq {ITWIN}"}, headers={"Accept": ACCEPT}
        ) as resp,
    ):
        assert resp.status in (401, 422)
        assert "sl-violations" in {k.lower() for k in resp.headers}
