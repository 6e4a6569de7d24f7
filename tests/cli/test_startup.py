"""What the command line loads before it runs a command: no HTTP stack for a command that
makes no request (its flags are parsed from light modules; a handler imports the clients)."""

from __future__ import annotations

from pathlib import Path

from tests.support import run_watching_imports


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


def test_a_command_that_makes_requests_loads_it_when_it_runs(tmp_path: Path) -> None:
    """The handler's imports come with the run: a Hover command without credentials gets as
    far as the client before it fails on them."""
    done, imported = run_watching_imports(tmp_path, "hover", "jobs")
    assert done.returncode == 2
    assert "Hover credentials missing" in done.stderr
    assert imported
