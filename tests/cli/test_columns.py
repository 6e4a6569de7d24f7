"""Listings print one date form per column, whatever form the service wrote."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import SMALL_SIZES
from tests.support import HB

from .helpers import FAST, bentley_env

UTC_SECOND = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_bentley_jobs_prints_every_creation_time_in_one_form(api: str) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=1, sizes=SMALL_SIZES)) as emu:
        argv = [*HB, "bentley", "jobs", "--api", api, "--filter", f"iTwinId eq {emu.itwin_ids[0]}"]
        env = bentley_env(emu, BENTLEY_V2_BASE_URL=emu.reality_modeling_v2_url)
        lines = subprocess.run(
            [*argv, *FAST], env=env, capture_output=True, text=True, timeout=60
        ).stdout.splitlines()
        raw = subprocess.run(
            [*argv, "--json", *FAST], env=env, capture_output=True, text=True, timeout=60
        ).stdout.splitlines()
    written = [json.loads(line) for line in raw]
    created = [j.get("createdDateTime") or j["executionInfo"]["createdDateTime"] for j in written]
    assert len({len(c) for c in created}) > 1, created  # the service mixes forms
    assert len(lines) == len(created) > 1
    shown = [line.split("\t")[3] for line in lines]
    assert all(UTC_SECOND.fullmatch(when) for when in shown), shown
    assert [when[:19] for when in shown] == [c[:19] for c in created]  # the same instants (UTC)
