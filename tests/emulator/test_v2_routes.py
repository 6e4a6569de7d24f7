"""Reality Modeling v2 and Reality Analysis v2 on the emulator, with plain aiohttp requests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import pytest

from hoverbentley.emulator import BentleyConfig, Emulator, EmulatorConfig, SeedV2
from hoverbentley.emulator.bentley.v2_seed import SCENE

pytestmark = pytest.mark.anyio
V1 = "application/vnd.bentley.itwin-platform.v1+json"
V2 = "application/vnd.bentley.itwin-platform.v2+json"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class Api:
    """One v2 API under test: its prefix, error code and a job of each kind to create."""

    name: str
    prefix: str
    code: str
    #: A body with one reality data output and one ``bkt:`` output.
    body: dict[str, Any]
    guid_output: str
    bkt_output: str


MODELING = Api(
    "modeling",
    "/reality-modeling",
    "InvalidRealityModelingRequest",
    {
        "type": "Calibration",
        "name": "Calibration of the quarry",
        "specifications": {"inputs": {"scene": SCENE}, "outputs": ["scene", "Report"]},
    },
    "scene",
    "report",
)
ANALYSIS = Api(
    "analysis",
    "/reality-analysis",
    "InvalidRealityAnalysisRequest",
    {
        "type": "EvalO2D",
        "name": "Evaluation of the detector",
        "specifications": {
            "inputs": {"reference": SCENE, "prediction": SCENE},
            "outputs": ["Report", "Objects2D"],
        },
    },
    "objects2D",
    "report",
)
BOTH = pytest.mark.parametrize("api", [MODELING, ANALYSIS], ids=["modeling", "analysis"])


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    # Jobs hold still unless a test moves them: nothing depends on the clock.
    bentley = BentleyConfig(itwins=1, jobs_per_itwin=2, v2_percent_per_second=0)
    config = EmulatorConfig(jobs=0, bentley=bentley)
    async with Emulator(config) as emulator:
        yield emulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def headers(emu: Emulator, accept: str = V2) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.config.bentley.token}", "Accept": accept}


async def call(
    http: aiohttp.ClientSession,
    emu: Emulator,
    method: str,
    path: str,
    *,
    accept: str = V2,
    **kwargs: Any,
) -> tuple[int, Any]:
    url = path if path.startswith("http") else emu.bentley_url + path
    async with http.request(method, url, headers=headers(emu, accept), **kwargs) as resp:
        body = await resp.json(content_type=None) if resp.content_length != 0 else None
        return resp.status, body


def seed_itwin(emu: Emulator) -> str:
    return emu.itwin_ids[0]


def detail(body: Any) -> dict[str, str]:
    details: list[dict[str, str]] = body["error"]["details"]
    assert len(details) == 1
    return details[0]


@BOTH
async def test_create_starts_the_job_and_fills_in_every_output_location(
    emu: Emulator, http: aiohttp.ClientSession, api: Api
) -> None:
    body = {**api.body, "iTwinId": seed_itwin(emu)}
    status, created = await call(http, emu, "POST", f"{api.prefix}/jobs", json=body)
    assert status == 201, created
    job = created["job"]
    assert job["state"] in ("Queued", "Active")
    assert job["type"] == body["type"] and job["name"] == body["name"]
    assert job["iTwinId"] == seed_itwin(emu) and job["executionInfo"]["createdDateTime"]
    outputs = job["specifications"]["outputs"]
    assert set(outputs) == {api.guid_output, api.bkt_output}  # camelCase, whatever was sent
    assert GUID.match(outputs[api.guid_output])
    assert outputs[api.bkt_output].startswith(f"bkt:{body['type']}/{job['id']}/")
    status, got = await call(http, emu, "GET", f"{api.prefix}/jobs/{job['id']}")
    assert status == 200 and got["job"] == job == emu.v2_job(job["id"])


async def test_reconstruction_exports_get_locations_at_once(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    body = {
        "type": "Reconstruction",
        "iTwinId": seed_itwin(emu),
        "specifications": {
            "inputs": {"scene": SCENE},
            "outputs": {
                "modelingReference": True,
                "exports": [{"format": "3DTiles"}, {"format": "OBJ", "name": "Mesh of the dam"}],
            },
            "options": {"tilingMode": "Adaptive"},
        },
    }
    status, created = await call(http, emu, "POST", "/reality-modeling/jobs", json=body)
    assert status == 201, created
    outputs = created["job"]["specifications"]["outputs"]
    assert GUID.match(outputs["modelingReference"]["location"])
    assert [e["format"] for e in outputs["exports"]] == ["3DTiles", "OBJ"]
    assert outputs["exports"][1]["name"] == "Mesh of the dam"
    assert all(GUID.match(e["location"]) for e in outputs["exports"])
    assert created["job"]["specifications"]["options"] == {"tilingMode": "Adaptive"}


@BOTH
@pytest.mark.parametrize(
    ("change", "target"),
    [
        ({"workspaceId": SCENE}, "workspaceId"),
        ({"type": "Full"}, "type"),
        ({"name": "a/b"}, "name"),
        ({"iTwinId": "not-a-guid"}, "iTwinId"),
        ({"specifications": {"inputs": {}}}, "specifications.outputs"),
        ({"specifications": {"inputs": {}, "outputs": [], "extra": 1}}, "specifications.extra"),
    ],
)
async def test_create_refuses_a_wrong_body_naming_the_field(
    emu: Emulator, http: aiohttp.ClientSession, api: Api, change: dict[str, Any], target: str
) -> None:
    body = {**api.body, "iTwinId": seed_itwin(emu), **change}
    before = len(emu.v2_jobs(api.name))  # type: ignore[arg-type]
    status, error = await call(http, emu, "POST", f"{api.prefix}/jobs", json=body)
    assert status == 400, error
    assert error["error"]["code"] == api.code
    assert detail(error)["code"] == "InvalidProperty" and detail(error)["target"] == target
    assert len(emu.v2_jobs(api.name)) == before  # type: ignore[arg-type]


async def test_create_names_a_missing_input_or_an_unknown_output(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    itwin = seed_itwin(emu)
    missing = {"type": "Tiling", "iTwinId": itwin, "specifications": {"inputs": {}, "outputs": []}}
    status, error = await call(http, emu, "POST", "/reality-modeling/jobs", json=missing)
    assert status == 400 and detail(error)["target"] == "specifications.inputs.scene"
    unknown = {
        "type": "Tiling",
        "iTwinId": itwin,
        "specifications": {"inputs": {"scene": SCENE}, "outputs": ["exports"]},
    }
    status, error = await call(http, emu, "POST", "/reality-modeling/jobs", json=unknown)
    assert status == 400 and detail(error)["target"] == "specifications.outputs[0]"
    status, error = await call(http, emu, "POST", "/reality-modeling/jobs", data=b"{not json")
    assert status == 400 and detail(error)["target"] == "body"


@BOTH
async def test_create_in_an_unknown_itwin_is_404(
    emu: Emulator, http: aiohttp.ClientSession, api: Api
) -> None:
    body = {**api.body, "iTwinId": "00000000-0000-4000-8000-000000000000"}
    status, error = await call(http, emu, "POST", f"{api.prefix}/jobs", json=body)
    assert (status, error["error"]["code"]) == (404, "iTwinNotFound")


@BOTH
async def test_cancel_terminates_then_cancels_and_is_refused_near_the_end(
    emu: Emulator, http: aiohttp.ClientSession, api: Api
) -> None:
    body = {**api.body, "iTwinId": seed_itwin(emu)}
    ids = []
    for _ in range(2):
        _, created = await call(http, emu, "POST", f"{api.prefix}/jobs", json=body)
        ids.append(created["job"]["id"])
    emu.set_v2_progress(ids[0], 30)
    status, cancelled = await call(http, emu, "DELETE", f"{api.prefix}/jobs/{ids[0]}")
    assert status == 200 and cancelled["job"]["state"] == "TerminatingOnCancel"
    _, got = await call(http, emu, "GET", f"{api.prefix}/jobs/{ids[0]}")
    assert got["job"]["state"] == "Cancelled" and got["job"]["executionInfo"]["endedDateTime"]

    emu.set_v2_progress(ids[1], 96)
    status, error = await call(http, emu, "DELETE", f"{api.prefix}/jobs/{ids[1]}")
    assert status == 422 and error["error"]["code"] == api.code
    assert detail(error)["code"] == "InvalidChange"
    assert "about to complete" in detail(error)["message"]
    assert emu.v2_job(ids[1])["state"] == "Active"
    status, error = await call(http, emu, "DELETE", f"{api.prefix}/jobs/{SCENE}")
    assert (status, error["error"]["code"]) == (404, "JobNotFound")


async def test_a_finished_job_cannot_be_cancelled(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    status, error = await call(http, emu, "DELETE", f"/reality-modeling/jobs/{SeedV2.FAILED}")
    assert status == 422 and detail(error)["code"] == "InvalidChange"
    assert emu.v2_job(SeedV2.FAILED)["state"] == "Failed"


@BOTH
async def test_progress_follows_the_job_to_success(
    emu: Emulator, http: aiohttp.ClientSession, api: Api
) -> None:
    body = {**api.body, "iTwinId": seed_itwin(emu)}
    _, created = await call(http, emu, "POST", f"{api.prefix}/jobs", json=body)
    path = f"{api.prefix}/jobs/{created['job']['id']}/progress"
    seen = []
    for percentage in (0, 35, 100):
        emu.set_v2_progress(created["job"]["id"], percentage)
        status, progress = await call(http, emu, "GET", path)
        assert status == 200 and set(progress["progress"]) == {"percentage", "state"}
        seen.append((progress["progress"]["percentage"], progress["progress"]["state"]))
    assert seen == [(0, "Queued"), (35, "Active"), (100, "Success")]
    job = emu.v2_job(created["job"]["id"])
    assert job["executionInfo"]["endedDateTime"] and job["executionInfo"]["processingUnits"] > 0
    status, error = await call(http, emu, "GET", f"{api.prefix}/jobs/{SCENE}/progress")
    assert (status, error["error"]["code"]) == (404, "JobProgressNotFound")


async def test_jobs_move_on_with_time_at_the_configured_speed() -> None:
    bentley = BentleyConfig(itwins=1, jobs_per_itwin=0, v2_percent_per_second=1e6)
    async with Emulator(EmulatorConfig(jobs=0, bentley=bentley)) as emu:
        assert emu.v2_job(SeedV2.ACTIVE)["state"] == "Success"
        assert emu.v2_job(SeedV2.QUEUED)["state"] == "Success"
        assert emu.v2_job(SeedV2.SEGMENTATION3D)["state"] == "Success"
        assert emu.v2_job(SeedV2.FAILED)["state"] == "Failed"  # finished jobs stay as they are


async def test_terminating_lasts_the_configured_time(http: aiohttp.ClientSession) -> None:
    bentley = BentleyConfig(
        itwins=1, jobs_per_itwin=0, v2_percent_per_second=0, v2_terminate_seconds=3600
    )
    async with Emulator(EmulatorConfig(jobs=0, bentley=bentley)) as emu:
        path = f"/reality-modeling/jobs/{SeedV2.ACTIVE}"
        status, cancelled = await call(http, emu, "DELETE", path)
        assert status == 200 and cancelled["job"]["state"] == "TerminatingOnCancel"
        for _ in range(3):
            _, progress = await call(http, emu, "GET", f"{path}/progress")
            assert progress["progress"] == {"percentage": 40, "state": "TerminatingOnCancel"}
        status, error = await call(http, emu, "DELETE", path)
        assert status == 422 and detail(error)["code"] == "InvalidChange"


async def test_a_job_fed_the_failing_input_fails_with_an_error(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    bad = emu.config.bentley.v2_failing_input
    body = {
        "type": "Calibration",
        "iTwinId": seed_itwin(emu),
        "specifications": {"inputs": {"scene": bad}, "outputs": ["scene"]},
    }
    _, created = await call(http, emu, "POST", "/reality-modeling/jobs", json=body)
    job_id = created["job"]["id"]
    emu.set_v2_progress(job_id, 70)
    states = [(await call(http, emu, "GET", f"/reality-modeling/jobs/{job_id}"))[1]["job"]["state"]]
    states.append(
        (await call(http, emu, "GET", f"/reality-modeling/jobs/{job_id}"))[1]["job"]["state"]
    )
    assert states == ["TerminatingOnFailure", "Failed"]
    _, messages = await call(http, emu, "GET", f"/reality-modeling/jobs/{job_id}/messages")
    assert messages["messages"]["errors"][0]["params"] == ["scene"]
    assert emu.expected_v2_blobs(job_id) == []


async def test_messages_of_the_seed_jobs(emu: Emulator, http: aiohttp.ClientSession) -> None:
    status, failed = await call(
        http, emu, "GET", f"/reality-modeling/jobs/{SeedV2.FAILED}/messages"
    )
    assert status == 200
    (error,) = failed["messages"]["errors"]
    assert set(error) == {"code", "title", "message", "params"}
    assert error["code"] == "InputData_Invalid" and "%1" in error["message"]
    assert failed["messages"]["warnings"] == []
    _, calibration = await call(
        http, emu, "GET", f"/reality-modeling/jobs/{SeedV2.CALIBRATION}/messages"
    )
    assert calibration["messages"]["errors"] == [] and calibration["messages"]["warnings"]
    status, error = await call(http, emu, "GET", f"/reality-modeling/jobs/{SCENE}/messages")
    assert (status, error["error"]["code"]) == (404, "JobNotFound")


async def test_list_pages_through_next_links_with_the_v2_grammar(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    itwin = seed_itwin(emu)
    url = f"/reality-modeling/jobs?$filter={quote(f'iTwinId eq {itwin}')}&$top=2"
    ids, pages = [], 0
    while url:
        status, page = await call(http, emu, "GET", url)
        assert status == 200, page
        assert len(page["jobs"]) <= 2
        ids += [j["id"] for j in page["jobs"]]
        url = page.get("_links", {}).get("next", {}).get("href")
        pages += 1
        if url:
            assert urlsplit(url).netloc == urlsplit(emu.bentley_url).netloc
            assert "continuationToken=" in url and "$top=2" in url
    wanted = [j["id"] for j in emu.v2_jobs() if j["iTwinId"] == itwin]
    assert ids == wanted and len(wanted) == 8 and pages == 4


@pytest.mark.parametrize(
    ("expression", "wanted"),
    [
        ("state eq 'Success' and type eq 'Reconstruction'", [SeedV2.RECONSTRUCTION]),
        ("type eq 'Tiling' or type eq 'GaussianSplats'", [SeedV2.FAILED, SeedV2.CANCELLED]),
        (
            "state ne 'Success' and createdDateTime ge 2025-03-09T00:00:00Z"
            " and createdDateTime lt 2025-03-10T00:00:00Z",
            [SeedV2.ACTIVE],
        ),
        (f"id eq {SeedV2.COLLEAGUE}", []),  # without iTwinId: only the user's own jobs
        ("email eq 'colleague@example.com'", []),
    ],
)
async def test_filters_select_jobs(
    emu: Emulator, http: aiohttp.ClientSession, expression: str, wanted: list[str]
) -> None:
    status, page = await call(
        http, emu, "GET", f"/reality-modeling/jobs?$filter={quote(expression)}"
    )
    assert status == 200, page
    assert [j["id"] for j in page["jobs"]] == wanted


async def test_filter_with_an_itwin_shows_a_colleagues_jobs(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    expression = f"iTwinId eq {seed_itwin(emu)} and email eq 'colleague@example.com'"
    _, page = await call(http, emu, "GET", f"/reality-modeling/jobs?$filter={quote(expression)}")
    assert [j["id"] for j in page["jobs"]] == [SeedV2.COLLEAGUE]


@BOTH
@pytest.mark.parametrize(
    ("query", "target"),
    [
        ("$filter=" + quote(f"inputId eq {SCENE}"), "$filter"),
        ("$filter=" + quote(f"outputId eq {SCENE}"), "$filter"),
        ("$filter=" + quote("state in ('Success','Failed')"), "$filter"),
        ("$filter=" + quote("colour eq 'red'"), "$filter"),
        ("", "$filter"),
        ("$filter=" + quote("state eq 'Success'") + "&$top=0", "$Top"),
        ("$filter=" + quote("state eq 'Success'") + "&$top=1001", "$Top"),
        ("$filter=" + quote("state eq 'Success'") + "&$top=2&continuationToken=forged", None),
    ],
)
async def test_list_refuses_what_v2_lacks_with_400(
    emu: Emulator, http: aiohttp.ClientSession, api: Api, query: str, target: str | None
) -> None:
    status, error = await call(http, emu, "GET", f"{api.prefix}/jobs?{query}")
    assert status == 400 and error["error"]["code"] == api.code
    assert detail(error)["code"] == "InvalidParameter"
    assert detail(error)["target"] == (target or "continuationToken")


async def test_v1_keeps_its_422_for_a_bad_top(emu: Emulator, http: aiohttp.ClientSession) -> None:
    query = "$filter=" + quote("state eq 'success'") + "&$top=1001"
    status, error = await call(http, emu, "GET", f"/contextcapture/jobs?{query}", accept=V1)
    assert status == 422 and detail(error)["target"] == "$Top"


async def test_list_in_an_unknown_itwin_is_404(emu: Emulator, http: aiohttp.ClientSession) -> None:
    expression = quote("iTwinId eq 00000000-0000-4000-8000-000000000000")
    status, error = await call(http, emu, "GET", f"/reality-modeling/jobs?$filter={expression}")
    assert (status, error["error"]["code"]) == (404, "iTwinNotFound")


@pytest.mark.parametrize(
    ("method", "path", "accept"),
    [
        ("GET", "/reality-modeling/files", V1),
        ("GET", f"/reality-modeling/jobs/{SeedV2.RECONSTRUCTION}", "application/json"),
        ("GET", "/reality-analysis/files", V1),
        ("GET", "/contextcapture/jobs?$filter=state%20eq%20'success'", V2),
        ("GET", "/reality-modeling/no-such-thing", V2),
        ("GET", "/reality-modeling/detectors", V2),
        ("PATCH", f"/reality-modeling/jobs/{SeedV2.RECONSTRUCTION}", V2),
        ("POST", "/reality-modeling/costs", V2),
    ],
)
async def test_a_wrong_accept_or_route_matches_no_operation(
    emu: Emulator, http: aiohttp.ClientSession, method: str, path: str, accept: str
) -> None:
    status, error = await call(http, emu, method, path, accept=accept)
    assert status == 404 and error["error"]["code"] == "ResourceNotFound"
    assert "Verify the API URL and the Accept header." in error["error"]["message"]
    assert detail(error)["code"] == "OperationNotFound"


async def test_without_a_token_v2_answers_401(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.get(emu.reality_modeling_v2_url + "/files", headers={"Accept": V2}) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "HeaderNotFound"


@BOTH
async def test_rate_limited_answers_carry_retry_after(
    emu: Emulator, http: aiohttp.ClientSession, api: Api
) -> None:
    emu.script(f"{api.prefix}/files", "429")
    status, error = await call(http, emu, "GET", f"{api.prefix}/files")
    assert (status, error["error"]["code"]) == (429, "RateLimitExceeded")
    last = emu.requests_to("bentley", f"{api.prefix}/files")[-1]
    assert last.fault == "429"
    async with http.get(emu.bentley_url + f"{api.prefix}/files", headers=headers(emu)) as resp:
        assert resp.status == 200
    emu.script(f"{api.prefix}/files", "429")
    async with http.get(emu.bentley_url + f"{api.prefix}/files", headers=headers(emu)) as resp:
        assert resp.status == 429 and resp.headers["retry-after"].isdigit()


@BOTH
async def test_files_are_presets(emu: Emulator, http: aiohttp.ClientSession, api: Api) -> None:
    status, body = await call(http, emu, "GET", f"{api.prefix}/files")
    assert status == 200 and body["files"]
    assert all(f["type"] == "Preset" and f["id"] and f["name"] for f in body["files"])
    assert any(f.get("deprecated") for f in body["files"])


async def test_detectors_are_listed_and_fetched(emu: Emulator, http: aiohttp.ClientSession) -> None:
    status, listed = await call(http, emu, "GET", "/reality-analysis/detectors")
    assert status == 200
    names = [d["name"] for d in listed["detectors"]]
    assert "@bentley/cracks-ortho" in names and all(
        "versions" not in d for d in listed["detectors"]
    )
    for name in names:
        status, got = await call(
            http, emu, "GET", f"/reality-analysis/detectors/{quote(name, safe='')}"
        )
        assert status == 200 and got["detector"]["name"] == name and got["detector"]["versions"]
    status, error = await call(http, emu, "GET", "/reality-analysis/detectors/nobody")
    assert (status, error["error"]["code"]) == (404, "DetectorNotFound")


async def blob_names(http: aiohttp.ClientSession, container_url: str) -> list[str]:
    base, _, sas = container_url.partition("?")
    async with http.get(f"{base}?restype=container&comp=list&{sas}") as resp:
        assert resp.status == 200, await resp.text()
        return re.findall(r"<Name>([^<]+)</Name>", await resp.text())


async def download(http: aiohttp.ClientSession, container_url: str, name: str) -> str:
    base, _, sas = container_url.partition("?")
    async with http.get(f"{base}/{quote(name)}?{sas}") as resp:
        assert resp.status == 200
        return hashlib.sha256(await resp.read()).hexdigest()


@BOTH
async def test_the_bucket_holds_the_bkt_outputs_of_finished_jobs(
    emu: Emulator, http: aiohttp.ClientSession, api: Api
) -> None:
    itwin = seed_itwin(emu)
    status, bucket = await call(http, emu, "GET", f"{api.prefix}/itwins/{itwin}/bucket")
    assert status == 200 and bucket["bucket"] == {"iTwinId": itwin}
    url = bucket["_links"]["containerUrl"]["href"]
    assert url.startswith(f"{emu.blob_url}/bucket-{itwin}?") and "sig=" in url
    seed = SeedV2.CALIBRATION if api is MODELING else SeedV2.EVAL_O2D
    expected = {
        b.name: b.sha256 for b in emu.expected_v2_blobs(seed) if b.output_id == f"bucket-{itwin}"
    }
    report = emu.v2_job(seed)["specifications"]["outputs"]["report"]
    assert list(expected) == [report.removeprefix("bkt:")]
    names = await blob_names(http, url)
    assert set(expected) <= set(names)
    assert {n: await download(http, url, n) for n in expected} == expected

    # A job that succeeds later adds its bkt: outputs to the bucket.
    _, created = await call(
        http, emu, "POST", f"{api.prefix}/jobs", json={**api.body, "iTwinId": itwin}
    )
    job_id = created["job"]["id"]
    path = created["job"]["specifications"]["outputs"][api.bkt_output].removeprefix("bkt:")
    assert path not in await blob_names(http, url)
    emu.set_v2_progress(job_id, 100)
    assert path in await blob_names(http, url)
    assert {b.name for b in emu.expected_v2_blobs(job_id) if b.output_id.startswith("bucket-")} == {
        path
    }


async def test_a_bucket_folder_output_is_a_prefix(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    blobs = emu.expected_v2_blobs(SeedV2.TOUCHUP_IMPORT)
    prefix = emu.v2_job(SeedV2.TOUCHUP_IMPORT)["specifications"]["outputs"]["importInfo"][4:]
    assert len(blobs) == 2 and all(b.name.startswith(prefix + "/") for b in blobs)


async def test_bucket_of_an_unknown_itwin_is_404(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    path = "/reality-modeling/itwins/00000000-0000-4000-8000-000000000000/bucket"
    status, error = await call(http, emu, "GET", path)
    assert (status, error["error"]["code"]) == (404, "iTwinNotFound")


async def test_reconstruction_outputs_are_reality_data_with_blobs(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    job = emu.v2_job(SeedV2.RECONSTRUCTION)
    assert job["state"] == "Success"
    exports = job["specifications"]["outputs"]["exports"]
    assert [e["format"] for e in exports] == ["3DTiles", "OBJ"]
    expected = {
        (b.output_id, b.name): b.sha256 for b in emu.expected_v2_blobs(SeedV2.RECONSTRUCTION)
    }
    got = {}
    for location in [e["location"] for e in exports] + [
        job["specifications"]["outputs"]["modelingReference"]["location"]
    ]:
        rd = f"{emu.reality_management_url}/{location}"
        status, item = await call(http, emu, "GET", f"{rd}?iTwinId={job['iTwinId']}", accept=V1)
        assert status == 200 and item["realityData"]["id"] == location
        status, access = await call(
            http, emu, "GET", f"{rd}/readaccess?iTwinId={job['iTwinId']}", accept=V1
        )
        assert status == 200
        url = access["_links"]["containerUrl"]["href"]
        for name in await blob_names(http, url):
            got[(location, name)] = await download(http, url, name)
    assert got == expected and len(expected) == 3 * 5


async def test_outputs_of_unfinished_jobs_are_not_reality_data_yet(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    location = emu.v2_job(SeedV2.ACTIVE)["specifications"]["outputs"]["exports"][0]["location"]
    status, error = await call(
        http, emu, "GET", f"{emu.reality_management_url}/{location}", accept=V1
    )
    assert (status, error["error"]["code"]) == (404, "RealityDataNotFound")
    assert emu.expected_v2_blobs(SeedV2.ACTIVE) == []
    emu.set_v2_progress(SeedV2.ACTIVE, 100)
    status, _ = await call(http, emu, "GET", f"{emu.reality_management_url}/{location}", accept=V1)
    assert status == 200 and len(emu.expected_v2_blobs(SeedV2.ACTIVE)) == 5


async def test_without_seed_jobs_v2_starts_empty() -> None:
    bentley = BentleyConfig(itwins=1, jobs_per_itwin=0, include_v2_seed_jobs=False)
    async with Emulator(EmulatorConfig(jobs=0, bentley=bentley)) as emu:
        assert emu.v2_jobs("modeling") == [] and emu.v2_jobs("analysis") == []
