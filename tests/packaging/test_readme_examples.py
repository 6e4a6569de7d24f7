"""Every Python example of README.md type-checks with ``mypy --strict`` and runs against the
emulator, as a user would run it: the examples read their credentials and base URLs from the
environment (``HOVER_TOKEN``, ``HOVER_BASE_URL``, ``BENTLEY_CLIENT_ID``, ``BENTLEY_BASE_URL``,
...), which the test points at the emulator. Each block runs as its own process in a
directory of its own.

Blocks are named by the heading above them (a second block under one heading: ``(2)``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.support import cli_env, user_email

README = Path(__file__).resolve().parents[2] / "README.md"

#: Blocks that cannot run offline, and why (they are type-checked all the same).
NOT_RUN = {
    "Object storage and many machines": "writes to s3://bucket/prefix, a real bucket, from a"
    " Dask cluster (tests/objectstore/test_dask.py runs the same against moto)",
    "Keep an archive current": "serves on port 8080 until it is stopped (tests/serve run the"
    " same application)",
}

#: mypy options of one block, and why (written as a comment at the top of its file).
MYPY_OPTIONS = {
    "Object storage and many machines": (
        "allow-untyped-calls",
        "distributed (Dask) has no type hints for Client",
    ),
}

#: Text replaced before a block runs, and why: only waits the emulator would make long.
SUBSTITUTIONS = {
    "Bentley iTwin Reality Modeling": [
        (
            "rm.wait_for_completion(job.id)",
            "rm.wait_for_completion(job.id, intervals=(0.01,))",
            "polls every 15 s or more, as the service asks; the emulator's job moves per poll",
        )
    ],
    "Reality Modeling v2 and Reality Analysis v2": [
        (
            "v2.wait_for_completion(job.id)",
            "v2.wait_for_completion(job.id, intervals=(0.05,))",
            "polls every 15 s or more; the emulator's v2 job ends in a few seconds",
        )
    ],
}


def python_blocks() -> dict[str, str]:
    """Every ```python block of the README, by name."""
    blocks: dict[str, str] = {}
    heading = ""
    lines = iter(README.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("```"):
            body = list(_until_fence(lines))  # a shell comment in a block is no heading
            if line.strip() != "```python":
                continue
            name, count = heading, 2
            while name in blocks:
                name, count = f"{heading} ({count})", count + 1
            blocks[name] = "\n".join(body) + "\n"
    return blocks


def _until_fence(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if line.strip() == "```":
            return
        yield line


def file_name(name: str) -> str:
    return "readme_" + re.sub(r"\W+", "_", name).strip("_").lower()


BLOCKS = python_blocks()


def test_the_lists_name_blocks_that_exist() -> None:
    assert len(BLOCKS) >= 8
    assert set(NOT_RUN) | set(SUBSTITUTIONS) | set(MYPY_OPTIONS) <= set(BLOCKS)
    for name, changes in SUBSTITUTIONS.items():
        for old, _new, _why in changes:
            assert old in BLOCKS[name], (name, old)


def test_every_block_type_checks_with_mypy_strict(tmp_path: Path) -> None:
    files = []
    for name, code in BLOCKS.items():
        path = tmp_path / f"{file_name(name)}.py"
        if name in MYPY_OPTIONS:
            code = f"# mypy: {MYPY_OPTIONS[name][0]}\n{code}"
        path.write_text(code, encoding="utf-8")
        files.append(str(path))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *files],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator.threaded(EmulatorConfig(jobs=0)) as emu:
        yield emu


@pytest.mark.parametrize("name", [n for n in BLOCKS if n not in NOT_RUN])
def test_the_block_runs_against_the_emulator(name: str, emulator: Emulator, tmp_path: Path) -> None:
    code = BLOCKS[name]
    for old, new, _why in SUBSTITUTIONS.get(name, []):
        code = code.replace(old, new)
    script = tmp_path / f"{file_name(name)}.py"
    script.write_text(code, encoding="utf-8")
    bentley = emulator.config.bentley
    env = cli_env(
        PYTHONPATH=str(README.parent),
        HOVER_TOKEN=emulator.config.token,
        HOVER_CURRENT_USER_EMAIL=user_email(emulator),
        HOVER_BASE_URL=emulator.hover_url,
        BENTLEY_CLIENT_ID=bentley.client_id,
        BENTLEY_CLIENT_SECRET=bentley.client_secret,
        BENTLEY_TOKEN_URL=emulator.ims_token_url,
        BENTLEY_BASE_URL=emulator.reality_modeling_url,
        BENTLEY_V2_BASE_URL=emulator.reality_modeling_v2_url,
        BENTLEY_REALITY_URL=emulator.reality_management_url,
    )
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for out in ("out", "archive"):  # an archive the block made has its records
        if re.search(rf'"{out}"[,)]', code) and "archive(" in code:
            assert (tmp_path / out / "manifest.jsonl").read_text(encoding="utf-8"), out
