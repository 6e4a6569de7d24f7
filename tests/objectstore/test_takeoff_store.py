"""``hover takeoff s3://…``: the same rows as from the same archive in a directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import SMALL_SIZES
from tests.archive.test_cli_archive import FAST, env_for
from tests.archive.test_takeoff_command import run

from .conftest import Store
from .helpers import objects

EMULATOR = EmulatorConfig(jobs=6, sizes=SMALL_SIZES)


@pytest.fixture
def emu(emu_thread: Emulator) -> Emulator:
    return emu_thread


def test_the_rows_from_s3_are_those_from_a_directory(
    emu: Emulator, s3: Store, tmp_path: Path
) -> None:
    env = env_for(emu, **s3.env)
    local = tmp_path / "out"
    for out in (local, s3.url()):
        archived = run("hover", "archive", out, "--all", "--takeoff", *FAST, env=env)
        assert archived.returncode == 0, archived.stderr
    from_dir = run("hover", "takeoff", local, env=env)
    from_store = run("hover", "takeoff", s3.url(), env=env)
    assert from_store.returncode == from_dir.returncode == 0, from_store.stderr
    assert from_store.stdout == from_dir.stdout and from_dir.stdout.count("\n") > 4
    assert from_store.stderr == from_dir.stderr
    # The runs wrote the same table into the store as into the directory.
    assert objects(s3)["takeoff.csv"] == (local / "takeoff.csv").read_bytes()
