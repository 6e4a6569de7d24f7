"""The demo's second part: one Reality Modeling v2 job archived from the emulator and checked.

The job is the emulator's Calibration seed job: one output is a reality data (through Reality
Management and its blob container), the other a ``bkt:`` file in the iTwin's bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from ..archive import ArchiveSummary
from ..bentley.filters import F
from ..config import HttpConfig
from .common import sha256_file
from .report import run_archive
from .settings import ArchiveRun, Output


@dataclass
class V2Demo:
    """What the v2 part archived and which of its files do not match the emulator."""

    job_id: str
    url: str
    summary: ArchiveSummary
    mismatched: list[str]


async def archive_v2_job(run: ArchiveRun, output: Output, emu: Any, out: Path) -> V2Demo:
    """Archive the emulator's v2 Calibration job into ``out`` and verify every output file."""
    from ..archive.bentley_source import BentleySource
    from ..bentley.reality import RealityManagementClient
    from ..bentley.v2 import RealityModelingV2Client
    from ..emulator import Emulator, SeedV2

    assert isinstance(emu, Emulator)
    job_id = SeedV2.CALIBRATION
    # The emulator is local: no need to stay under Bentley's rate limit.
    http = HttpConfig(requests_per_minute=None)
    token = emu.config.bentley.token
    async with (
        RealityModelingV2Client(token=token, base_url=emu.reality_modeling_v2_url, http=http) as v2,
        RealityManagementClient(
            base_url=emu.reality_management_url, auth=v2.auth, http=http
        ) as reality,
    ):
        source = BentleySource(v2, F.id.eq(job_id), reality=reality)
        summary = await run_archive(run, output, source, out)
    mismatched = await anyio.to_thread.run_sync(_verify, emu, out, job_id)
    return V2Demo(job_id, emu.reality_modeling_v2_url, summary, mismatched)


def _verify(emu: Any, out: Path, job_id: str) -> list[str]:
    """The v2 job's files that are missing or differ from the emulator's blobs."""
    from ..archive.bentley_source import BUCKET_PREFIX
    from ..archive.manifest import Manifest

    manifest = Manifest(out)
    manifest.load()
    itwin = emu.v2_job(job_id)["iTwinId"]
    expected = {(b.output_id, b.name): b.sha256 for b in emu.expected_v2_blobs(job_id)}
    found: set[tuple[str, str]] = set()
    bad: list[str] = []
    for entry in manifest.entries.values():
        if entry.job_id != job_id or entry.kind == "job" or entry.status != "ok":
            continue
        part = entry.part_id or ""
        container = emu.bucket_container(itwin) if part.startswith(BUCKET_PREFIX) else part
        key = (container, entry.key or "")
        path = out / entry.path
        if key not in expected or not path.exists() or sha256_file(path) != expected[key]:
            bad.append(entry.path)
        found.add(key)
    bad += [f"{c}/{n} (not archived)" for c, n in sorted(expected.keys() - found)]
    return bad
