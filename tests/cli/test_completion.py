"""``hoverbentley completion``: the script names the commands and flags, and bash completes
with it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .helpers import error_line, hb

pytest.importorskip("shtab")


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = hb("completion", "bash")
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("completion") / "hoverbentley.bash"
    path.write_text(result.stdout)
    return path


def test_the_bash_script_names_the_commands_and_flags(bash_script: Path) -> None:
    text = bash_script.read_text()
    for word in (
        "hover", "bentley", "verify", "config", "completion", "demo", "emulator",
        "archive", "jobs", "create", "cancel", "wait", "show", "path",
        "--since", "--profile", "--concurrency", "--filter", "--exclude", "--log-format",
    ):  # fmt: skip
        assert word in text, word


def complete(script: Path, *words: str) -> list[str]:
    """What bash offers for the last of ``words`` after ``hoverbentley``."""
    line = " ".join(("hoverbentley", *words))
    program = (
        f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words)};"
        f" COMP_LINE='{line}'; COMP_POINT={len(line)}; _shtab_hoverbentley;"
        ' printf "%s\\n" "${COMPREPLY[@]}"'
    )
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    done = subprocess.run([bash, "-c", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completes_commands_and_flags_from_the_script(bash_script: Path) -> None:
    assert complete(bash_script, "ho") == ["hover"]
    assert complete(bash_script, "hover", "ar") == ["archive"]
    assert complete(bash_script, "hover", "archive", "--sin") == ["--since"]
    assert complete(bash_script, "bentley", "archive", "--filt") == ["--filter"]
    assert sorted(complete(bash_script, "config", "")) == ["path", "show"]


def test_zsh_script_and_an_unknown_shell() -> None:
    zsh = hb("completion", "zsh")
    assert zsh.returncode == 0, zsh.stderr
    assert zsh.stdout.startswith("#compdef hoverbentley")
    assert "--since" in zsh.stdout
    fish = hb("completion", "fish")
    assert fish.returncode == 2
    assert "invalid choice: 'fish'" in error_line(fish)
