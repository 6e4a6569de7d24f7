"""Names and URLs chosen by an attacker never lead a write outside OUT."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hoverbentley.archive import ArchiveOptions, archive
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.hover.client import HoverClient
from tests.support import fast, serve

pytestmark = pytest.mark.anyio
FAST = fast(max_retries=1)
HOSTILE_KEYS = [
    "../../../../escape",
    "/etc/passwd",
    "nul\x00key",
    "CON",
    "aux.txt",
    "x" * 300,
    "\u202ertl\u0007bell\n",
    "..",
    ".",
    "",
    "C:\\Windows\\system32",
]
HOSTILE_PATHS = [
    "..%2F..%2F..%2Fevil.pdf",
    "evil.%2E%2E%2Fx",
    "name.pdf%00.exe",
    "%2Fabs%2Fpath.json",
    "CON.xml",
    "y" * 250 + ".dwg",
]


def _payload(base: str) -> dict[str, Any]:
    measurements = {
        key: f"{base}/files/m{n}/{HOSTILE_PATHS[n % len(HOSTILE_PATHS)]}"
        for n, key in enumerate(HOSTILE_KEYS)
    }
    return {
        "id": 1,
        "name": "../../../../tmp/pwned",
        "reconstruction_state": "completed",
        "address": {"location_line_1": "=cmd|' /C calc'!A0", "city": "\x1b[31mred\nnewline"},
        "models": [
            {
                "id": 7,
                "name": "../../model",
                "state": "complete",
                "artifacts": {
                    "measurements": measurements,
                    "../cad": {"dwg": f"{base}/files/c/..%2Fx.dwg"},
                },
                "images": [{"id": 99, "url": f"{base}/files/i/..%2F..%2Fimg.jpg"}],
            }
        ],
    }


def _bad_image_payload(base: str) -> dict[str, Any]:
    return {
        "id": 2,
        "name": "bad image id",
        "models": [
            {
                "id": 8,
                "state": "complete",
                "images": [{"id": "../../../evil", "url": f"{base}/files/j/evil.jpg"}],
            }
        ],
    }


def _app() -> web.Application:
    async def job(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        payload = _payload(base) if request.match_info["id"] == "1" else _bad_image_payload(base)
        return web.json_response(payload)

    async def file(request: web.Request) -> web.Response:
        return web.Response(body=request.path.encode() * 10)

    app = web.Application()
    app.router.add_get("/api/v3/jobs/{id}", job)
    app.router.add_get("/files/{tail:.*}", file)
    return app


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


async def test_nothing_is_written_outside_out(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    out = parent / "out"
    parent.mkdir()
    (parent / "sibling.txt").write_text("keep")
    before = _tree(tmp_path)
    async with (
        serve(_app()) as base,
        HoverClient(
            token="t", current_user_email="u@example.com", base_url=base, http=FAST
        ) as client,
    ):
        summary = await archive(
            HoverSource(client, job_ids=[1, 2]), out, ArchiveOptions(concurrency=4)
        )
    after = _tree(tmp_path)
    assert {p for p in after - before if not p.startswith("parent/out")} == set()
    assert (parent / "sibling.txt").read_text() == "keep"

    expected_files = len(HOSTILE_KEYS) + 2  # every artifact, the dwg and the image
    assert summary.downloaded == expected_files, summary.failures
    assert summary.failed == 0
    # The job whose image id is not an integer is refused as a whole, with the JSON path.
    assert summary.jobs_failed == 1
    assert "images[0].id" in summary.job_failures[0].error

    real_out = out.resolve()
    for path in out.rglob("*"):
        assert not path.is_symlink()
        assert real_out in path.resolve().parents
        for segment in path.relative_to(out).parts:
            assert segment not in ("", ".", "..")
            assert len(segment.encode()) <= 255
            assert all(ch.isprintable() for ch in segment), segment
    entries = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    files = [e for e in entries if e["kind"] != "job"]
    assert len({e["path"] for e in files}) == expected_files
    for entry in entries:
        assert not os.path.isabs(entry["path"]) and ".." not in Path(entry["path"]).parts
    index = (out / "index.csv").read_text()
    assert "'=cmd" in index and "\x1b" not in index
