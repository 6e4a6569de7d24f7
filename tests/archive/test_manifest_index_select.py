from __future__ import annotations

import csv
from pathlib import Path

import msgspec
import pytest

from hoverbentley.archive.index import update_index
from hoverbentley.archive.manifest import Manifest, ManifestEntry, encode_entry, file_entry
from hoverbentley.archive.plan import PlannedFile
from hoverbentley.errors import ConfigurationError
from hoverbentley.hover.select import parse_include, selected


def _entry(path: str, status: str = "ok", sha: str = "aa") -> ManifestEntry:
    return ManifestEntry(
        path=path,
        url=f"https://h/{path}",
        size=3,
        sha256=sha,
        job_id="1",
        kind="artifact",
        status=status,
    )


def test_manifest_newest_line_wins_and_torn_lines_are_ignored(tmp_path: Path) -> None:
    m = Manifest(tmp_path)
    m.append(_entry("a", "failed"))
    m.append(_entry("a", "ok", "bb"))
    m.append(_entry("b"))
    m.close()
    with open(tmp_path / "manifest.jsonl", "ab") as fh:
        fh.write(b'{"path": "c", "url": "x", "sta')  # a crash mid-line
    again = Manifest(tmp_path)
    again.load()
    assert again.unreadable == []  # what a killed run leaves is no damage
    assert again.completed("a") is not None
    assert again.entries["a"].sha256 == "bb"
    assert again.completed("c") is None
    again.append(_entry("d"))
    again.close()
    lines = (tmp_path / "manifest.jsonl").read_bytes().splitlines()
    assert lines[-1].startswith(b'{"path":"d"')  # the torn line was ended, not glued to
    final = Manifest(tmp_path)
    final.load()
    assert set(final.entries) == {"a", "b", "d"}
    # Ended by the next run's first line, it is still what a killed run left, not damage.
    assert final.unreadable == []
    assert final.compact()
    assert b'"path": "c"' not in (tmp_path / "manifest.jsonl").read_bytes()


def test_damaged_lines_are_numbered_as_editors_number_them(tmp_path: Path) -> None:
    good = encode_entry(_entry("a"))
    (tmp_path / "manifest.jsonl").write_bytes(
        good.replace(b"\n", b"\r\n")  # line 1, as an editor on Windows saves it
        + b"\n"  # line 2, blank
        + b"not json\r\n"  # line 3
        + b'{"path": "x", "status": [1]}\n'  # line 4: whole, but no entry
        + b'{"path": "b", "url": "u", "sta\n'  # line 5: cut short by a kill
        + encode_entry(_entry("c"))  # line 6
        + b"X\rY\n"  # line 7, with a lone carriage return
    )
    manifest = Manifest(tmp_path)
    manifest.load()
    assert set(manifest.entries) == {"a", "c"}
    assert manifest.unreadable == [
        f"manifest.jsonl line {n} is not a manifest entry" for n in (3, 4, 7)
    ]


def test_index_merges_rows_and_defuses_formulas(tmp_path: Path) -> None:
    update_index(
        tmp_path,
        [
            {
                "provider": "hover",
                "job_id": "10",
                "name": "=HYPERLINK(1)",
                "address": "1 Main St",
                "directory": "hover/10",
            }
        ],
    )
    update_index(
        tmp_path,
        [{"provider": "hover", "job_id": "9", "name": "Garage\x07", "directory": "hover/9"}],
    )
    with open(tmp_path / "index.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["job_id"] for r in rows] == ["9", "10"]
    assert rows[1]["name"] == "'=HYPERLINK(1)"
    assert rows[0]["name"] == "Garage "


@pytest.mark.parametrize(
    ("include", "kind", "fmt", "key", "wanted"),
    [
        ("pdf,images", "artifact", "pdf", "measurements.pdf", True),
        ("pdf,images", "image", "jpg", "images.1", True),
        ("pdf", "image", "jpg", "images.1", False),
        ("xml_v2", "artifact", "xml", "cad_exports.xml_v2", True),
        ("xml_v2", "artifact", "xml", "cad_exports.xml", False),
        ("cad_exports", "artifact", "dwg", "cad_exports.dwg", True),
        (" .JSON ", "artifact", "json", "measurements.full_json", True),
    ],
)
def test_include_selection(include: str, kind: str, fmt: str, key: str, wanted: bool) -> None:
    assert selected(parse_include(include), kind=kind, format=fmt, key=key) is wanted


def test_include_everything_by_default_and_empty_is_an_error() -> None:
    assert selected(None, kind="image", format="jpg", key="images.1")
    with pytest.raises(ConfigurationError, match="at least one"):
        parse_include(" , ")


def test_one_builder_makes_the_line_of_a_planned_file_that_came_or_failed() -> None:
    file = PlannedFile(
        url="https://h/f",
        path="bentley/1/outputs/o/f.bin",
        job_id="1",
        part_id="o",
        kind="output",
        format="OBJ",
        key="f.bin",
        size=3,
        md5="x",
    )
    ok = msgspec.json.decode(encode_entry(file_entry(file, "ok", size=3, sha256="aa", etag='"e"')))
    failed = msgspec.json.decode(encode_entry(file_entry(file, "failed", error="gone")))
    where = {"path": file.path, "url": file.url, "job_id": "1", "model_id": "o", "key": "f.bin"}
    assert ok.pop("completed_at") > 0 and failed.pop("completed_at") > 0
    assert ok == {
        **where,
        "kind": "output",
        "format": "OBJ",
        "size": 3,
        "sha256": "aa",
        "etag": '"e"',
        "status": "ok",
    }
    assert failed == {
        **where,
        "kind": "output",
        "format": "OBJ",
        "status": "failed",
        "error": "gone",
    }
