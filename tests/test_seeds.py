"""The seed documents are the ones received, and the emulator's seed data is what they say."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import aiohttp
import pytest

from hoverbentley.emulator import Emulator
from tests.seeds import BENTLEY_JOBS_DOC, HOVER_JOB_DOC, bentley_samples, hover_samples
from tests.support import user_email

DIGESTS = {
    HOVER_JOB_DOC: "0a3be5df9864c1d17151f62ada8ab415b47f320f5c9cd2503dfb99bbfe5e98ac",
    BENTLEY_JOBS_DOC: "74b7b7bb5529f682911524c9f375b86facb0cdcbdfc4543b5d1f9e3191a3aa44",
}


@pytest.mark.parametrize("doc", list(DIGESTS), ids=lambda p: p.name)
def test_seed_documents_are_unchanged(doc: object) -> None:
    assert hashlib.sha256(doc.read_bytes()).hexdigest() == DIGESTS[doc]  # type: ignore[attr-defined]


def test_the_documents_hold_the_samples_the_tests_rely_on() -> None:
    assert sorted(hover_samples()) == [15084303, 15254733]
    assert sorted(bentley_samples()) == ["200", "401", "404", "422", "429"]
    assert bentley_samples()["200"]["jobs"][0]["id"] == "cc3d35cc-416a-4262-9714-b359da70b419"


async def _get_json(url: str, token: str, **params: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params=params, headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return json.loads(await resp.read())


@pytest.mark.anyio
@pytest.mark.parametrize("job_id", [15084303, 15254733])
async def test_emulator_serves_the_hover_sample(emu: Emulator, job_id: int) -> None:
    served = await _get_json(
        f"{emu.hover_url}/api/v3/jobs/{job_id}",
        emu.config.token,
        current_user_email=user_email(emu),
    )
    # The emulator serves its own origin where the page names hover.to; nothing else differs.
    sample = json.dumps(hover_samples()[job_id]).replace("https://hover.to", emu.hover_url)
    assert served == json.loads(sample)


@pytest.mark.anyio
async def test_emulator_serves_the_bentley_sample(emu: Emulator) -> None:
    (job,) = bentley_samples()["200"]["jobs"]
    url = f"{emu.reality_modeling_url}/jobs/{job['id']}"
    assert await _get_json(url, emu.config.bentley.token) == {"job": job}
