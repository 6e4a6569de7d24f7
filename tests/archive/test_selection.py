"""``include``/``exclude``: typos are errors naming the choices; patterns and exclusions work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hoverbentley.archive import ArchiveOptions, archive, parse_exclude, parse_include
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.cli.progress import summary_text
from hoverbentley.errors import ConfigurationError
from hoverbentley.hover.select import selected

from .helpers import assert_complete, storage_requests
from .test_archive import client, emulator, run

Parse = Callable[[str | None], frozenset[str] | None]


@pytest.mark.parametrize(
    ("parse", "option", "text", "unknown"),
    [
        (parse_include, "--include", "pdff", "pdff"),
        (parse_include, "--include", "pdf,imgaes", "imgaes"),
        (parse_exclude, "--exclude", "measurements.ful_json", "measurements.ful_json"),
    ],
)
def test_an_unknown_word_is_an_error_naming_the_valid_choices(
    parse: Parse, option: str, text: str, unknown: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse(text)
    message = str(caught.value)
    assert message.startswith(f"{option}: unknown {unknown}; choose from ")
    for choice in ("images", "pdf", "full_json", "cad_exports", "xml_v2"):
        assert choice in message


@pytest.mark.parametrize(
    ("pattern", "key", "other"),
    [
        ("images.*", "images.12", "measurements.pdf"),
        ("images.1662*", "images.16620", "images.99"),
        ("16*", "images.1601", "images.99"),
    ],
)
def test_patterns_over_image_ids_are_taken(pattern: str, key: str, other: str) -> None:
    wanted = parse_include(pattern)
    assert selected(wanted, kind="image", format="jpg", key=key)
    assert not selected(wanted, kind="image", format="jpg", key=other)


@pytest.mark.parametrize(
    ("parse", "option", "pattern"),
    [
        (parse_include, "--include", "cad_export.*"),  # the group is cad_exports
        (parse_include, "--include", "*jsn"),
        (parse_exclude, "--exclude", "images.*.jpgg"),
    ],
)
def test_a_pattern_that_can_match_no_name_is_an_error(
    parse: Parse, option: str, pattern: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse(f"pdf,{pattern}")
    message = str(caught.value)
    assert message.startswith(f"{option}: the pattern {pattern!r} matches no name Hover uses;")
    assert "cad_exports" in message and "full_json" in message


@pytest.mark.parametrize(
    ("include", "exclude", "kind", "fmt", "key", "wanted"),
    [
        ("cad_exports.*", None, "artifact", "xml", "cad_exports.xml_v2", True),
        ("cad_exports.*", None, "artifact", "pdf", "measurements.pdf", False),
        ("*json", None, "artifact", "json", "measurements.summarized_json", True),
        ("measurements.full_json", None, "artifact", "json", "measurements.full_json", True),
        ("measurements.full_json", None, "artifact", "json", "measurements.json", False),
        (None, "images", "image", "jpg", "images.1", False),
        (None, "images", "artifact", "pdf", "measurements.pdf", True),
        ("artifacts", "xml*", "artifact", "xml", "cad_exports.xml_with_orientation", False),
        ("artifacts", "xml*", "artifact", "dwg", "cad_exports.dwg", True),
        ("artifacts", None, "image", "jpg", "images.1", False),
    ],
)
def test_patterns_and_exclusions_select_files(
    include: str | None, exclude: str | None, kind: str, fmt: str, key: str, wanted: bool
) -> None:
    chosen = selected(
        parse_include(include), kind=kind, format=fmt, key=key, exclude=parse_exclude(exclude)
    )
    assert chosen is wanted


@pytest.mark.anyio
async def test_exclude_leaves_out_the_images_of_every_job(tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with emulator(jobs=3) as emu, client(emu) as hover:
        source = HoverSource(hover, archived=True, exclude=parse_exclude("images"))
        summary = await archive(source, out, ArchiveOptions())
        expected = [f for f in emu.expected_files() if f.kind != "image"]
        assert 0 < len(expected) < len(emu.expected_files())
        assert summary.ok and summary.files == summary.downloaded == len(expected)
        assert len(storage_requests(emu)) == len(expected)
        assert not [r for r in emu.requests if "/api/v2/images/" in r.path]
        assert_complete(out, emu, emu.job_ids(), expected=expected)
        assert all(not urlsplit(f.url).path.endswith(".jpg") for f in expected)


@pytest.mark.anyio
async def test_a_failed_job_is_counted_among_the_jobs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with emulator(jobs=2) as emu:
        failing = emu.job_ids()[0]
        emu.script(f"/api/v3/jobs/{failing}?", *["500"] * 50)
        summary = await run(emu, out, retries=0)
        assert summary.jobs == len(emu.job_ids()) and summary.jobs_failed == 1
        assert summary.job_failures[0].job_id == str(failing)
        assert not summary.ok
        assert summary_text(summary).startswith(f"{len(emu.job_ids())} jobs (1 failed), ")
