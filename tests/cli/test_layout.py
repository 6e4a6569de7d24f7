"""The command modules stand alone, and every archive command takes the same run flags."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import hoverbentley.cli
from hoverbentley.emulator import Emulator, EmulatorConfig

from .helpers import FAST, bentley_env, hb, hover_env

CLI_DIR = Path(hoverbentley.cli.__file__).parent
MODULES = sorted(
    "hoverbentley.cli" + ("" if p.stem == "__init__" else f".{p.stem}")
    for p in CLI_DIR.glob("*.py")
)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator.threaded(EmulatorConfig(jobs=3)) as emulator:
        yield emulator


@pytest.mark.parametrize("module", MODULES)
def test_each_cli_module_imports_alone(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_no_command_module_is_left_in_the_bentley_package() -> None:
    assert not (CLI_DIR.parent / "bentley" / "cli.py").exists()


def _flags(help_text: str, group: str) -> set[str]:
    section = help_text.split(f"{group}:\n", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^  (--[\w-]+)", section, re.MULTILINE))


def test_hover_and_bentley_archive_share_the_run_and_http_flags() -> None:
    hover = hb("hover", "archive", "--help").stdout
    bentley = hb("bentley", "archive", "--help").stdout
    for group in ("archive run", "HTTP"):
        assert _flags(hover, group) == _flags(bentley, group), group
    assert {"--concurrency", "--per-host", "--detail-concurrency", "--dry-run", "--json"} <= (
        _flags(hover, "archive run")
    )
    assert "--progress" in hover and "--no-progress" in hover


def test_json_means_json_on_stdout_and_nothing_on_stderr_for_both(
    emu: Emulator, tmp_path: Path
) -> None:
    hover = hb("hover", "archive", tmp_path / "h", "--all", "--json", *FAST, env=hover_env(emu))
    bentley = hb(
        "bentley",
        "archive",
        tmp_path / "b",
        "--filter",
        f"iTwinId eq {emu.itwin_ids[0]}",
        "--records-only",
        "--json",
        "--per-host",
        "1",
        *FAST,
        env=bentley_env(emu),
    )
    for result in (hover, bentley):
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        summary = json.loads(result.stdout)
        assert summary["failed"] == 0 and summary["jobs"] > 0
