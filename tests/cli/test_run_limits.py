"""``--max-transfer``, ``--max-duration`` and ``--files-from`` of the archive commands, as
processes against the emulator."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

import pytest

from hoverbentley.cli.common import hover_job_id
from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from tests.archive.helpers import (
    SMALL_SIZES,
    KiB,
    MiB,
    assert_complete,
    big_pdfs,
    hold_big_files,
    partial_files,
    read_manifest,
)
from tests.support import HB, hover_archive

from .helpers import FAST, bentley_env, error_line, hover_env

#: The largest file SMALL_SIZES makes (cut when the limit falls inside it).
LARGEST = 96 * KiB


def archive(
    emu: Emulator | None, out: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hover_archive(out, *args, "-q", *FAST),
        env=hover_env(emu, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_max_transfer_stops_after_that_many_bytes_and_a_rerun_completes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    limit = 300 * KiB
    with Emulator.threaded(EmulatorConfig(jobs=6, sizes=SMALL_SIZES)) as emu:
        total = sum(f.size for f in emu.expected_files())
        assert total > 4 * limit
        args = ["--all", "--concurrency", "1"]
        stopped = archive(emu, out, *args, "--max-transfer", "300K", "--json")
        assert stopped.returncode == 8, stopped.stderr
        summary = json.loads(stopped.stdout)
        assert summary["stopped"] == "max_transfer" and summary["interrupted"] is True
        stored = [e for e in read_manifest(out) if e["kind"] != "job" and e["status"] == "ok"]
        kept = sum(e["size"] for e in stored)
        # One download at a time: the file that crossed the limit was finished or cut (left
        # to resume), and none was started after it.
        assert limit - LARGEST <= kept < limit + LARGEST, kept
        assert summary["bytes"] == kept

        again = archive(emu, out, *args, "--json")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["skipped"] == len(stored)  # nothing fetched twice
        assert_complete(out, emu, emu.job_ids(archived=False))
        assert not partial_files(out)


def test_max_duration_stops_a_run_still_going_with_its_own_status(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = EmulatorConfig(
        jobs=3,
        sizes=SMALL_SIZES,
        size_overrides=big_pdfs(1, 2 * MiB),
        faults=FaultConfig(stall_seconds=600),
    )
    with Emulator.threaded(config) as emu:
        hold_big_files(emu, 1)  # the run cannot end before the limit: one body never ends
        stopped = archive(emu, out, "--all", "--stall-timeout", "600", "--max-duration", "1s")
        assert stopped.returncode == 9, stopped.stderr
        assert "stopped: the --max-duration limit was reached; run the same command again" in (
            stopped.stdout
        )
        assert "Traceback" not in stopped.stderr

        again = archive(emu, out, "--all", "--json")
        assert again.returncode == 0, again.stderr
        assert_complete(out, emu, emu.job_ids(archived=False))


def limits_profile(tmp_path: Path, text: str) -> dict[str, str]:
    """The environment of a run whose profile ``limits`` holds ``text`` (shared keys)."""
    path = tmp_path / "config.toml"
    path.write_text(f"[profile.limits]\n{text}\n")
    return {"HOVERBENTLEY_CONFIG": str(path), "HOVERBENTLEY_PROFILE": "limits"}


def test_the_limits_come_from_a_profile_and_a_flag_wins(tmp_path: Path) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=6, sizes=SMALL_SIZES)) as emu:
        env = limits_profile(tmp_path, 'max_transfer = "300K"')
        args = ["--all", "--concurrency", "1", "--json"]
        stopped = archive(emu, tmp_path / "a", *args, **env)
        assert stopped.returncode == 8, stopped.stderr
        assert json.loads(stopped.stdout)["stopped"] == "max_transfer"
        flagged = archive(emu, tmp_path / "b", *args, "--max-transfer", "1G", **env)
        assert flagged.returncode == 0, flagged.stderr
        assert_complete(tmp_path / "b", emu, emu.job_ids(archived=False))


def test_max_duration_from_a_profile_stops_the_run(tmp_path: Path) -> None:
    config = EmulatorConfig(
        jobs=3,
        sizes=SMALL_SIZES,
        size_overrides=big_pdfs(1, 2 * MiB),
        faults=FaultConfig(stall_seconds=600),
    )
    with Emulator.threaded(config) as emu:
        hold_big_files(emu, 1)  # the run cannot end before the limit: one body never ends
        env = limits_profile(tmp_path, "max_duration = 1\nstall_timeout = 600")
        stopped = archive(emu, tmp_path / "out", "--all", **env)
    assert stopped.returncode == 9, stopped.stderr
    assert "the --max-duration limit was reached" in stopped.stdout


def test_a_bad_limit_in_a_profile_names_the_file_line_and_key(tmp_path: Path) -> None:
    env = limits_profile(tmp_path, 'concurrency = 2\nmax_transfer = "lots"')
    refused = archive(None, tmp_path / "out", "--all", **env)
    assert refused.returncode == 2
    line = error_line(refused)
    assert f"{tmp_path / 'config.toml'}:3: key 'max_transfer' in [profile.limits]" in line
    assert "not a size: 'lots'" in line
    assert not (tmp_path / "out").exists()


def test_files_from_archives_the_jobs_a_file_lists(tmp_path: Path) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=4, sizes=SMALL_SIZES)) as emu:
        first, second, *_ = emu.job_ids(archived=False)
        ids = tmp_path / "ids.txt"
        # Saved by an editor that starts with a byte-order mark and ends lines with CRLF.
        text = f"# the jobs of the week\r\n{first}\r\n\r\n  {second}  # a comment\r\n"
        ids.write_bytes(("\ufeff" + text).encode())
        from_file = archive(emu, tmp_path / "a", "--files-from", str(ids))
        from_stdin = archive(emu, tmp_path / "b", "--files-from", "-", stdin=ids.read_text())
        for result, out in ((from_file, tmp_path / "a"), (from_stdin, tmp_path / "b")):
            assert result.returncode == 0, result.stderr
            wanted = [f for f in emu.expected_files() if f.job_id in (first, second)]
            assert_complete(out, emu, [first, second], expected=wanted)


@pytest.mark.parametrize(
    "text",
    ["0", "-3", "\u0661\u0665", "9223372036854775808", "1_000", "+5", "1e3", " 7", "9" * 5000],
)
def test_a_hover_job_id_is_ascii_digits_up_to_the_largest_id(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a job id") as caught:
        hover_job_id(text)
    assert len(str(caught.value)) < 200  # a 5000-digit id is not printed whole
    assert hover_job_id("9223372036854775807") == 2**63 - 1


def test_a_bad_id_in_files_from_is_a_usage_error_naming_its_line(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("# jobs\n15084303\nfifteen\n")
    with Emulator.threaded(EmulatorConfig(jobs=1, sizes=SMALL_SIZES)) as emu:
        hover = archive(emu, tmp_path / "a", "--files-from", str(ids))
        bentley = subprocess.run(
            [*HB, "bentley", "archive", str(tmp_path / "b"), "--files-from", str(ids)],
            env=bentley_env(emu),
            capture_output=True,
            text=True,
            timeout=60,
        )
        missing = archive(emu, tmp_path / "c", "--files-from", str(tmp_path / "nope.txt"))
        seen = len(emu.requests)
    assert hover.returncode == bentley.returncode == missing.returncode == 2
    assert f"--files-from {ids}, line 3: not a job id: 'fifteen'" in error_line(hover)
    assert f"--files-from {ids}, line 2: not a job id: '15084303'" in error_line(bentley)
    assert "cannot read --files-from" in error_line(missing)
    assert seen == 0 and not any((tmp_path / d).exists() for d in "abc")


def test_bentley_files_from_archives_the_listed_jobs(tmp_path: Path) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=1, sizes=SMALL_SIZES)) as emu:
        jobs = [j["id"] for j in emu.bentley_jobs()][:2]
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join(jobs) + "\n")
        argv = [*HB, "bentley", "archive", str(tmp_path / "out"), "--files-from", str(ids)]
        result = subprocess.run(
            [*argv, "--records-only", "--json", *FAST],
            env=bentley_env(emu),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    records = {e["job_id"] for e in read_manifest(tmp_path / "out") if e["kind"] == "job"}
    assert records == set(jobs)


def test_verbose_shows_the_limits_once_in_the_units_of_progress(tmp_path: Path) -> None:
    def verbose(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            hover_archive(out, "--all", "-v", "--no-progress", *args, *FAST),
            env=hover_env(emu),
            capture_output=True,
            text=True,
            timeout=120,
        )

    with Emulator.threaded(EmulatorConfig(jobs=1, sizes=SMALL_SIZES)) as emu:
        limited = verbose(
            tmp_path / "out",
            "--bwlimit",
            "1.5G",
            "--max-transfer",
            "2GB",
            "--max-duration",
            "1h30m",
        )
        plain = verbose(tmp_path / "plain")
    assert limited.returncode == plain.returncode == 0, limited.stderr + plain.stderr
    said = "bandwidth limit 1.5 GiB/s, stops after 2.0 GiB received, stops after 1h30m"
    lines = [line for line in limited.stderr.splitlines() if "limit" in line]
    assert len(lines) == 1 and lines[0].endswith(f"archive into {tmp_path / 'out'}: {said}")
    assert not re.search(r"\d ?[KMG]B\b", limited.stderr + limited.stdout)  # IEC only
    assert f"archive into {tmp_path / 'plain'}: no limits" in plain.stderr


@pytest.mark.parametrize("value", ["5Q", "nan", "-1M"])
def test_a_malformed_bwlimit_names_the_flag(tmp_path: Path, value: str) -> None:
    refused = archive(None, tmp_path / "out", "--all", f"--bwlimit={value}")
    assert refused.returncode == 2
    assert "argument --bwlimit: " in error_line(refused) and repr(value) in error_line(refused)
    assert "Traceback" not in refused.stderr and not (tmp_path / "out").exists()
