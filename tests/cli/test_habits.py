"""Command-line habits: every mistake caught and named, nothing left behind by a refused run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig

from .helpers import FAST, bentley_env, error_line, hb, hover_env

EMULATOR = EmulatorConfig(jobs=1)


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [
        ("--stall-timeout", "nan", "argument --stall-timeout: not a finite number of seconds"),
        ("--connect-timeout", "inf", "argument --connect-timeout: not a finite number of seconds"),
        ("--read-timeout", "0", "argument --read-timeout: must be more than 0"),
        ("--retry-for", "-1", "argument --retry-for: must be more than 0"),
        ("--max-outage", "-2", "argument --max-outage: must be 0 or more"),
        ("--requests-per-minute", "-1", "argument --requests-per-minute: must be 0 or more"),
        ("--max-retries", "-5", "argument --max-retries: must be 0 or more"),
        ("--bwlimit", "infM", "argument --bwlimit: not a finite rate"),
    ],
)
def test_a_bad_number_is_a_usage_error_naming_the_flag(flag: str, value: str, said: str) -> None:
    result = hb("hover", "jobs", flag, value, env=hover_env(None))
    assert result.returncode == 2, result.stderr
    assert said in error_line(result)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["hover", "archive", "OUT", "--al"], "unrecognized arguments: --al; did you mean --all?"),
        (
            ["hover", "jobs", "--limt", "3"],
            "unrecognized arguments: --limt 3; did you mean --limit?",
        ),
        (["hover", "archiv"], "invalid choice: 'archiv'"),
        (["hovr", "jobs"], "did you mean 'hover'?"),
    ],
)
def test_flags_are_never_abbreviated_and_a_misspelling_gets_a_suggestion(
    args: list[str], said: str, tmp_path: Path
) -> None:
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    result = hb(*args, env=hover_env(None))
    assert result.returncode == 2, result.stderr
    assert said in error_line(result)
    assert not (tmp_path / "out").exists()


def test_an_unknown_v1_output_format_lists_the_formats(tmp_path: Path) -> None:
    with Emulator.threaded(EMULATOR) as emu:
        result = hb(
            "bentley",
            "archive",
            tmp_path / "out",
            "--filter",
            "state eq 'Completed'",
            "--outputs",
            "lass,OBJ",
            *FAST,
            env=bentley_env(emu),
        )
    assert result.returncode == 2, result.stderr
    line = error_line(result)
    assert "unknown v1 output format 'lass'" in line and "Cesium 3D Tiles" in line
    assert not (tmp_path / "out").exists()


def test_credentials_with_surrounding_white_space_work(tmp_path: Path) -> None:
    with Emulator.threaded(EMULATOR) as emu:
        env = hover_env(
            emu,
            HOVER_TOKEN=f" {emu.config.token}\n",
            HOVER_CURRENT_USER_EMAIL=f"{sorted(emu.config.user_emails)[0]}\n",
        )
        result = hb("hover", "jobs", "--json", *FAST, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])


def test_a_refused_token_leaves_no_empty_manifest(tmp_path: Path) -> None:
    with Emulator.threaded(EMULATOR) as emu:
        out = tmp_path / "out"
        result = hb(
            "hover", "archive", out, "--all", *FAST, env=hover_env(emu, HOVER_TOKEN="wrong")
        )
    assert result.returncode != 0
    assert not (out / "manifest.jsonl").exists()


def test_a_local_bentley_base_url_keeps_the_token_on_that_host(tmp_path: Path) -> None:
    with Emulator.threaded(EMULATOR) as emu:
        # No Reality Management URL given: it is the API's neighbour, not production's.
        env = bentley_env(emu, BENTLEY_REALITY_URL="")
        job = next(j for j in emu.bentley_jobs() if j["state"] == "success")
        selected = f"iTwinId eq {job['iTwinId']} and id eq {job['id']}"
        result = hb("bentley", "archive", tmp_path / "out", "--filter", selected, *FAST, env=env)
        readaccess = [r for r in emu.requests if r.path.endswith("/readaccess")]
    assert result.returncode == 0, result.stderr
    assert "api.bentley.com" not in result.stderr and "does not resolve" not in result.stderr
    assert readaccess  # the outputs' containers were asked of the emulator


def test_a_local_bentley_base_url_keeps_the_client_secret_on_that_host() -> None:
    with Emulator.threaded(EMULATOR) as emu:
        # Client credentials, no token endpoint given: it is the API's neighbour, not IMS.
        env = bentley_env(
            emu,
            BENTLEY_TOKEN="",
            BENTLEY_CLIENT_ID=emu.config.bentley.client_id,
            BENTLEY_CLIENT_SECRET=emu.config.bentley.client_secret,
        )
        itwin = emu.bentley_jobs()[0]["iTwinId"]
        result = hb(
            "bentley", "jobs", "--filter", f"iTwinId eq {itwin}", "--limit", "1", *FAST, env=env
        )
        grants = [r for r in emu.requests if r.path.endswith("/connect/token")]
    assert result.returncode == 0, result.stderr
    assert "ims.bentley.com" not in result.stderr and "does not resolve" not in result.stderr
    assert len(grants) == 1  # the secret went to the emulator's token endpoint
