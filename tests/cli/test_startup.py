"""What the command line loads: no HTTP stack for a command that makes no request (its flags
are parsed from light modules; a handler imports the clients), and no aiohttp for one that
does (the transport's own HTTP client sends its requests)."""

from __future__ import annotations

import json
from pathlib import Path

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import SMALL_SIZES, read_manifest
from tests.archive.test_cli_archive import FAST, env_for
from tests.support import run_watching_imports

EMULATOR = EmulatorConfig(jobs=3, sizes=SMALL_SIZES)


def test_help_and_the_help_of_the_archive_commands_load_no_http_stack(tmp_path: Path) -> None:
    for args in (("--help",), ("hover", "archive", "--help"), ("serve", "--help")):
        done, imported = run_watching_imports(tmp_path, *args)
        assert done.returncode == 0, done.stderr
        assert "usage: hoverbentley" in done.stdout
        assert not imported, args


def test_the_completion_script_is_written_without_the_http_stack(tmp_path: Path) -> None:
    done, imported = run_watching_imports(tmp_path, "completion", "bash")
    assert done.returncode == 0, done.stderr
    assert "hover" in done.stdout and "--concurrency" in done.stdout
    assert not imported


def test_a_command_without_credentials_stops_before_any_request(tmp_path: Path) -> None:
    done, imported = run_watching_imports(tmp_path, "hover", "jobs")
    assert done.returncode == 2
    assert "Hover credentials missing" in done.stderr
    assert not imported


def test_an_archive_sends_every_request_without_aiohttp(
    emu_thread: Emulator, tmp_path: Path
) -> None:
    """Every request of the run (the listing, job records, each file's redirect and storage
    GET) goes through the transport's own client: aiohttp's import, about a third of
    start-up, is never paid."""
    out = tmp_path / "out"
    args = ("hover", "archive", out, "--all", "--archived", *FAST)
    done, imported = run_watching_imports(tmp_path, *args, env=env_for(emu_thread))
    assert done.returncode == 0, done.stderr
    archived = {e["sha256"] for e in read_manifest(out) if e["kind"] != "job"}
    assert archived == {f.sha256 for f in emu_thread.expected_files()}
    assert not imported
    done, imported = run_watching_imports(
        tmp_path, "hover", "jobs", "--archived", "--json", "-q", env=env_for(emu_thread)
    )
    assert done.returncode == 0, done.stderr
    jobs = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(jobs) == len(emu_thread.job_ids(archived=True))
    assert not imported
