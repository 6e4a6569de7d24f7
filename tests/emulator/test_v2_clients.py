"""The v2 clients against the emulator's v2 routes: a second check of both implementations."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hoverbentley._http.health import HostHealth
from hoverbentley.archive import archive
from hoverbentley.archive.bentley_source import BentleySource
from hoverbentley.archive.plan import JobPlan
from hoverbentley.bentley import F, RealityAnalysisClient, RealityModelingV2Client
from hoverbentley.bentley.reality import RealityManagementClient
from hoverbentley.bentley.storage import SasContainer, download_blob, list_blobs
from hoverbentley.bentley.v2 import CancellationRefused
from hoverbentley.bentley.v2_models import ACCEPT_V2, Progress
from hoverbentley.config import HttpConfig
from hoverbentley.emulator import BentleyConfig, Emulator, EmulatorConfig, SeedV2
from hoverbentley.emulator.bentley.v2_seed import SCENE
from hoverbentley.errors import ConfigurationError, NotFoundError
from tests.flavours import flavoured

pytestmark = pytest.mark.anyio
FAST = HttpConfig(requests_per_minute=None, backoff_base=0.01, backoff_max=0.02)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    bentley = BentleyConfig(itwins=2, jobs_per_itwin=1, v2_percent_per_second=0)
    async with Emulator(EmulatorConfig(jobs=0, bentley=bentley)) as emulator:
        yield emulator


def modeling(emu: Emulator, flavour: str = "async") -> RealityModelingV2Client:
    return flavoured(  # type: ignore[no-any-return]
        flavour,
        RealityModelingV2Client,
        token=emu.config.bentley.token,
        base_url=emu.reality_modeling_v2_url,
        http=FAST,
    )


def analysis(emu: Emulator, flavour: str = "async") -> RealityAnalysisClient:
    return flavoured(  # type: ignore[no-any-return]
        flavour,
        RealityAnalysisClient,
        token=emu.config.bentley.token,
        base_url=emu.reality_analysis_url,
        http=FAST,
    )


def calibration(itwin: str, **inputs: str) -> dict[str, Any]:
    return {
        "type": "Calibration",
        "name": "Calibration of the quarry",
        "iTwinId": itwin,
        "specifications": {"inputs": {"scene": SCENE, **inputs}, "outputs": ["scene", "report"]},
    }


async def test_create_get_cancel_and_a_refused_cancel(emu: Emulator, flavour: str) -> None:
    itwin = emu.itwin_ids[0]
    async with modeling(emu, flavour) as rm:
        created = await rm.create_job(calibration(itwin))
        second = await rm.create_job(calibration(itwin))
        assert created.state in ("Queued", "Active") and created.i_twin_id == itwin
        outputs = created.output_ids()
        assert set(outputs) == {"scene", "report"} and outputs["report"].startswith("bkt:")
        got = await rm.get_job(created.id)
        assert got.output_ids() == outputs
        emu.set_v2_progress(created.id, 20)
        cancelled = await rm.cancel_job(created.id)
        assert cancelled.state == "TerminatingOnCancel"
        assert (await rm.get_job(created.id)).state == "Cancelled"
        emu.set_v2_progress(second.id, 99)
        with pytest.raises(CancellationRefused) as refused:
            await rm.cancel_job(second.id)
        assert refused.value.status_code == 422
        with pytest.raises(NotFoundError):
            await rm.get_job(SCENE)
    for request in emu.requests_to("bentley", "/reality-modeling/"):
        assert request.headers["Accept"] == ACCEPT_V2


async def test_wait_for_completion_sees_the_job_move_to_success(
    emu: Emulator, flavour: str
) -> None:
    seen: list[Progress] = []
    emu.set_v2_progress(SeedV2.ACTIVE, 40, speed=0)
    async with modeling(emu, flavour) as rm:

        def watch(progress: Progress) -> None:
            seen.append(progress)
            # The service moves on between polls: 20 points per poll seen.
            emu.set_v2_progress(SeedV2.ACTIVE, min(100, progress.percentage + 20))

        job = await rm.wait_for_completion(SeedV2.ACTIVE, intervals=(0.05,), on_progress=watch)
    assert job.state == "Success" and job.execution_info is not None
    assert job.execution_info.ended is not None
    assert [(p.percentage, p.state) for p in seen] == [
        (40, "Active"),
        (60, "Active"),
        (80, "Active"),
        (100, "Success"),
    ]
    assert len(emu.requests_to("bentley", f"/jobs/{SeedV2.ACTIVE}/progress")) == 4


async def test_wait_for_completion_with_time_at_the_configured_speed(flavour: str) -> None:
    bentley = BentleyConfig(itwins=1, jobs_per_itwin=0, v2_percent_per_second=500)
    async with Emulator(EmulatorConfig(jobs=0, bentley=bentley)) as emu:
        async with modeling(emu, flavour) as rm:
            created = await rm.create_job(calibration(emu.itwin_ids[0]))
            job = await rm.wait_for_completion(created.id, intervals=(0.05,), max_wait=60)
        assert job.state == "Success"
        assert emu.expected_v2_blobs(created.id)  # its outputs now exist


async def test_a_failed_job_has_its_error(emu: Emulator, flavour: str) -> None:
    async with modeling(emu, flavour) as rm:
        messages = await rm.get_messages(SeedV2.FAILED)
        assert [m.code for m in messages.errors] == ["InputData_Invalid"]
        assert (
            messages.errors[0].text
            == 'Invalid input data. Please check the documentation. ("Scene")'
        )
        bad = emu.config.bentley.v2_failing_input
        created = await rm.create_job(calibration(emu.itwin_ids[0], crsData=bad))
        emu.set_v2_progress(created.id, 80)
        job = await rm.wait_for_completion(created.id, intervals=(0.01,))
        assert job.state == "Failed"
        assert (await rm.get_messages(created.id)).errors[0].params == ["crsData"]


async def test_list_pages_and_iterates_with_top(emu: Emulator, flavour: str) -> None:
    itwin = emu.itwin_ids[0]
    wanted = [j["id"] for j in emu.v2_jobs() if j["iTwinId"] == itwin]
    async with modeling(emu, flavour) as rm:
        first = await rm.list_jobs(F.itwin_id.eq(itwin), top=3)
        assert [j.id for j in first.jobs] == wanted[:3] and first.next_link
        second = await rm.list_jobs(F.itwin_id.eq(itwin), top=3, continuation=first.next_link)
        assert [j.id for j in second.jobs] == wanted[3:6]
        every = [j.id async for j in rm.iter_jobs(F.itwin_id.eq(itwin), top=2)]
        assert every == wanted
        done = F.itwin_id.eq(itwin) & F.state.eq("Success") & F.type.eq("Calibration")
        assert [j.id for j in (await rm.list_jobs(done)).jobs] == [SeedV2.CALIBRATION]


async def test_what_v2_lacks_is_refused_before_sending(emu: Emulator, flavour: str) -> None:
    itwin = emu.itwin_ids[0]
    async with modeling(emu, flavour) as rm:
        with pytest.raises(ConfigurationError, match="inputId"):
            await rm.list_jobs(F.itwin_id.eq(itwin) & F.input_id.eq(SCENE))
        with pytest.raises(ConfigurationError, match="outputId"):
            await rm.list_jobs(F.output_id.eq(SCENE))
        with pytest.raises(ConfigurationError, match="in operator"):
            await rm.list_jobs(F.state.in_(["Success", "Failed"]))
        with pytest.raises(ConfigurationError, match="\\$top"):
            await rm.list_jobs(F.itwin_id.eq(itwin), top=1001)
    assert emu.requests_to("bentley", "/reality-modeling/jobs") == []


async def test_bucket_and_files(emu: Emulator, flavour: str) -> None:
    itwin = emu.itwin_ids[0]
    async with modeling(emu, flavour) as rm:
        bucket = await rm.get_bucket(itwin)
        files = await rm.list_files()
        with pytest.raises(NotFoundError):
            await rm.get_bucket("00000000-0000-4000-8000-000000000000")
    assert bucket.startswith(f"{emu.blob_url}/{emu.bucket_container(itwin)}?")
    assert {f.id for f in files} >= {"Preset_DroneNadir"} and all(f.type == "Preset" for f in files)


async def test_seed_reconstruction_has_typed_specifications(emu: Emulator, flavour: str) -> None:
    async with modeling(emu, flavour) as rm:
        job = await rm.get_job(SeedV2.RECONSTRUCTION)
    assert job.typed_specifications() is not None
    assert set(job.output_ids()) == {"modelingReference", "exports/3DTiles", "exports/OBJ"}
    assert set(job.output_ids().values()) == {b.output_id for b in emu.expected_v2_blobs(job.id)}


async def test_analysis_jobs_and_detectors(emu: Emulator, flavour: str) -> None:
    itwin = emu.itwin_ids[0]
    async with analysis(emu, flavour) as ra:
        created = await ra.create_job(
            {
                "type": "Objects2D",
                "iTwinId": itwin,
                "specifications": {
                    "inputs": {"photos": SCENE, "photoObjectDetector": "traffic-signs"},
                    "outputs": ["Objects2D"],
                },
            }
        )
        page = await ra.list_jobs(F.itwin_id.eq(itwin))
        progress = await ra.get_progress(SeedV2.SEGMENTATION3D)
        detectors = await ra.list_detectors()
        fetched = [await ra.get_detector(d.name) for d in detectors]
        with pytest.raises(NotFoundError):
            await ra.get_detector("nobody")
    assert set(created.output_ids()) == {"objects2D"}
    assert [j.id for j in page.jobs] == [j["id"] for j in emu.v2_jobs("analysis")]
    assert (progress.percentage, progress.state) == (20, "Active")
    assert "@bentley/cracks-ortho" in [d.name for d in detectors]
    assert [d.name for d in fetched] == [d.name for d in detectors]
    assert all(d.versions for d in fetched)


@pytest.mark.parametrize(
    "job_id", [SeedV2.RECONSTRUCTION, SeedV2.CALIBRATION, SeedV2.TOUCHUP_IMPORT, SeedV2.EVAL_O2D]
)
async def test_v2_outputs_download_like_v1_outputs(
    emu: Emulator, tmp_path: Path, job_id: str
) -> None:
    """Reality data outputs through Reality Management's readaccess, ``bkt:`` ones through the
    iTwin's bucket: every blob arrives with the bytes the emulator holds."""
    v2 = analysis(emu) if job_id == SeedV2.EVAL_O2D else modeling(emu)
    rm = RealityManagementClient(
        token=emu.config.bentley.token, base_url=emu.reality_management_url, http=FAST
    )
    got: dict[tuple[str, str], str] = {}
    async with v2, rm:
        job = await v2.get_job(job_id)
        assert job.state == "Success"
        itwin = job.i_twin_id
        for location in job.output_ids().values():
            if location.startswith("bkt:"):
                container = SasContainer(lambda: v2.get_bucket(itwin))
                prefix, owner = location[4:], emu.bucket_container(itwin)
            else:
                container, prefix, owner = rm.container(location, itwin), "", location
            async for item in list_blobs(rm.transport, container, prefix):
                dest = tmp_path / owner / item.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                await download_blob(rm.transport, container, item.name, dest, md5=item.content_md5)
                got[(owner, item.name)] = hashlib.sha256(dest.read_bytes()).hexdigest()
    expected = {(b.output_id, b.name): b.sha256 for b in emu.expected_v2_blobs(job_id)}
    assert got == expected and expected


async def test_the_archive_fetches_through_the_containers_it_planned_with(
    emu: Emulator, tmp_path: Path
) -> None:
    """Every SAS of the run is granted while planning, one per reality data output and one
    per job with ``bkt:`` outputs: the fetches reuse the planned containers."""
    rm = RealityManagementClient(
        token=emu.config.bentley.token, base_url=emu.reality_management_url, http=FAST
    )
    itwin = emu.itwin_ids[0]
    async with modeling(emu) as v2, rm:
        source = BentleySource(v2, F.itwin_id.eq(itwin) & F.state.eq("Success"), reality=rm)
        plans = [await source.plan(job_id) async for job_id in source.job_ids()]
        grants = len(emu.requests_to("bentley", "/readaccess"))
        buckets = len(emu.requests_to("bentley", "/bucket"))
        files = [f for p in plans for f in p.files]
        outputs = {f.part_id for f in files}
        assert any(o.startswith("bkt:") for o in outputs)
        assert any(not o.startswith("bkt:") for o in outputs)
        summary = await archive(_Planned(source, plans), tmp_path)
    assert summary.downloaded == len(files) and not summary.failures
    assert len(emu.requests_to("bentley", "/readaccess")) == grants
    assert len(emu.requests_to("bentley", "/bucket")) == buckets


class _Planned:
    """``source`` with its plans already made (the archive would plan them again)."""

    def __init__(self, source: BentleySource, plans: list[JobPlan]) -> None:
        self.source = source
        self.provider = source.provider
        self._plans = {p.job_id: p for p in plans}
        self.fetch = source.fetch

    async def job_ids(self) -> AsyncIterator[str]:
        for job_id in self._plans:
            yield job_id

    async def plan(self, job_id: str) -> JobPlan:
        return self._plans[job_id]

    def hosts(self) -> list[HostHealth]:
        return self.source.hosts()


@pytest.mark.parametrize(
    ("given", "message"),
    [("", "must not be empty"), (" ", "must not be empty"), (None, "not None"), ("..", "no id")],
)
async def test_reality_data_ids_that_name_no_reality_data_are_refused_before_sending(
    emu: Emulator, given: Any, message: str
) -> None:
    rm = RealityManagementClient(
        token=emu.config.bentley.token, base_url=emu.reality_management_url, http=FAST
    )
    itwin = emu.itwin_ids[0]
    before = len(emu.requests)
    async with rm:
        with pytest.raises(ConfigurationError, match=message):
            await rm.get_reality_data(given, itwin)
        with pytest.raises(ConfigurationError, match=message):
            await rm.read_access(given, itwin)
    assert len(emu.requests) == before
