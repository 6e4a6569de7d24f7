"""Profiles of the config file: precedence (flags, environment, profile, defaults) seen in the
requests the emulator receives, ``config show`` and ``config path``, and every file mistake as a
usage error naming the file, the line and the key."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoverbentley.emulator import BentleyConfig, Emulator, EmulatorConfig
from tests.support import cli_env

from .helpers import FAST, error_line, hb

DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    config = EmulatorConfig(jobs=2, bentley=BentleyConfig(itwins=1, jobs_per_itwin=2))
    with Emulator.threaded(config) as emulator:
        yield emulator


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text))
    return path


def profile_file(tmp_path: Path, emu: Emulator) -> Path:
    return write(
        tmp_path,
        f"""\
        # shared defaults first, then each provider
        [profile.prod]
        concurrency = 3
        requests_per_minute = 0

        [profile.prod.hover]
        base_url = "{emu.hover_url}"
        token_env = "PROD_HOVER_TOKEN"
        current_user_email = "{sorted(emu.config.user_emails)[0]}"

        [profile.prod.bentley]
        api = "v2"
        v2_base_url = "{emu.reality_modeling_v2_url}"
        token_env = "PROD_BENTLEY_TOKEN"

        [profile.other]
        retries = 0
        """,
    )


def env_for(path: Path, emu: Emulator, **values: str) -> dict[str, str]:
    return cli_env(
        HOVERBENTLEY_CONFIG=str(path),
        PROD_HOVER_TOKEN=emu.config.token,
        PROD_BENTLEY_TOKEN=emu.config.bentley.token,
        **values,
    )


def job_listings(emu: Emulator) -> int:
    return len(emu.requests_to("hover", "/api/v3/jobs"))


def test_the_profile_supplies_base_url_user_and_token(emu: Emulator, tmp_path: Path) -> None:
    env = env_for(profile_file(tmp_path, emu), emu)
    before = job_listings(emu)
    result = hb("hover", "jobs", "--profile", "prod", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(emu.job_ids(archived=False))
    assert job_listings(emu) > before
    # Without the profile nothing says where or who: the credentials error of old.
    assert hb("hover", "jobs", env=env).returncode == 2


def test_hoverbentley_profile_chooses_it_too(emu: Emulator, tmp_path: Path) -> None:
    env = env_for(profile_file(tmp_path, emu), emu, HOVERBENTLEY_PROFILE="prod")
    result = hb("hover", "jobs", "--json", env=env)
    assert result.returncode == 0, result.stderr


def test_environment_beats_profile_and_a_flag_beats_both(emu: Emulator, tmp_path: Path) -> None:
    env = env_for(profile_file(tmp_path, emu), emu, HOVER_BASE_URL=DEAD)
    refused = hb("hover", "jobs", "--profile", "prod", env=env)
    assert refused.returncode == 2
    assert DEAD in error_line(refused)  # the environment's URL was used, not the profile's
    result = hb("--profile", "prod", "hover", "jobs", f"--base-url={emu.hover_url}", env=env)
    assert result.returncode == 0, result.stderr


def test_bentley_api_and_its_url_from_the_profile(emu: Emulator, tmp_path: Path) -> None:
    env = env_for(profile_file(tmp_path, emu), emu)
    itwin = emu.v2_jobs()[0]["iTwinId"]
    before = len(emu.requests_to("bentley", "/reality-modeling/jobs"))
    result = hb("bentley", "jobs", "--filter", f"iTwinId eq {itwin}", "--profile", "prod", env=env)
    assert result.returncode == 0, result.stderr
    assert len(emu.requests_to("bentley", "/reality-modeling/jobs")) > before
    # --api v1 on the command line wins; the v1 URL then comes from the environment.
    v1 = hb(
        "bentley", "jobs", "--filter", f"iTwinId eq {itwin}", "--api", "v1", "--profile", "prod",
        *FAST, env={**env, "BENTLEY_BASE_URL": DEAD},
    )  # fmt: skip
    assert v1.returncode == 1  # an unreachable host that no --base-url named
    assert "127.0.0.1:9 refused the connection" in error_line(v1)


def test_config_show_names_sources_and_hides_secrets(emu: Emulator, tmp_path: Path) -> None:
    path = profile_file(tmp_path, emu)
    env = env_for(path, emu, HOVERBENTLEY_CA_FILE="/etc/ssl/certs/ca-certificates.crt")
    result = hb("config", "show", "--profile", "prod", "--json", env=env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    settings = shown["settings"]
    assert shown["profile"] == "prod"
    assert settings["concurrency"] == {"value": "3", "source": f"profile prod ({path}:3)"}
    assert settings["ca_file"]["source"] == "env HOVERBENTLEY_CA_FILE"
    assert settings["retries"] == {"value": "2", "source": "default"}
    assert settings["hover.token"] == {
        "value": "***",
        "source": f"profile prod ({path}:8): env PROD_HOVER_TOKEN",
    }
    assert settings["bentley.api"]["value"] == "v2"
    assert emu.config.token not in result.stdout
    assert emu.config.bentley.token not in result.stdout
    text = hb("config", "show", "--profile", "prod", env=env)
    assert text.returncode == 0
    assert emu.config.token not in text.stdout
    assert "profile: prod (from --profile)" in text.stdout


def test_config_path_follows_the_platform_directory(tmp_path: Path) -> None:
    result = hb("config", "path", env=cli_env(XDG_CONFIG_HOME=str(tmp_path)))
    assert result.stdout.strip() == str(tmp_path / "hoverbentley" / "config.toml")
    named = hb("config", "path", env=cli_env(HOVERBENTLEY_CONFIG=str(tmp_path / "x.toml")))
    assert named.stdout.strip() == str(tmp_path / "x.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[profile.prod]\nconcurrency = 4\nconcurency = 3\n",
            [":3: unknown key 'concurency' in [profile.prod]", "known here: ", "concurrency"],
        ),
        (
            "[profile.prod.hover]\nbase_url = 'https://h'\ntoken = 'abc'\n",
            [":3: unknown key 'token' in [profile.prod.hover]", "set token_env"],
        ),
        ("[profile.prod]\nconcurrency = 0\n", [":2: key 'concurrency'", "must be 1 to 1024: 0"]),
        ("[profile.prod]\nretries = 'x'\n", [":2: key 'retries'", "not a whole number"]),
        ("[profile.prod]\nconnect_timeout = 0\n", [":2: key 'connect_timeout'", "more than 0"]),
        (
            "[profile.prod.hover]\ntoken_env = 'T'\nbase_url = 'ftp://ops:PASSW0RD@h'\n",
            [
                ":3: key 'base_url' in [profile.prod.hover]",
                "must be an http(s) URL with a host; 'ftp://ops:REDACTED@h' is not an http(s) URL",
            ],
        ),
        (
            "[profile.prod.bentley]\nreality_url = 'ops:PASSW0RD@h/x'\n",
            [":2: key 'reality_url'", "'ops:REDACTED@h/x' is not an http(s) URL"],
        ),
        (
            "[profile.prod.bentley]\ntoken_url = 'https://:99999/token'\n",
            [":2: key 'token_url'", "is not a valid URL"],
        ),
        ("[profile.prod.bentley]\napi = 'v3'\n", [":2: key 'api'", "v1, v2"]),
        ("[profile.prod]\nconcurrency = = 1\nretries = 1\n", [":2: not valid TOML", "line 2"]),
        ("[profile.prod]\nconcurrency = [1\n", [":2: not valid TOML", "end of document"]),
        ("[prof.prod]\nconcurrency = 1\n", [":1: unknown key 'prof'", "[profile.NAME]"]),
        ("[profile.other]\nretries = 1\n", ["no profile 'prod' (profiles: other)"]),
    ],
)
def test_file_mistakes_are_usage_errors(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text)
    env = cli_env(HOVERBENTLEY_CONFIG=str(path), HOVER_TOKEN="t", HOVER_BASE_URL=DEAD)
    for argv in (["hover", "jobs", "--profile", "prod"], ["config", "show", "--profile", "prod"]):
        result = hb(*argv, env=env)
        assert result.returncode == 2, result.stderr
        line = error_line(result)
        assert str(path) in line and "PASSW0RD" not in result.stderr
        for part in expected:
            assert part in line


def test_a_missing_file_is_a_usage_error_only_when_a_profile_is_asked_for(
    tmp_path: Path,
) -> None:
    env = cli_env(HOVERBENTLEY_CONFIG=str(tmp_path / "none.toml"))
    result = hb("config", "show", "--profile", "prod", env=env)
    assert result.returncode == 2
    assert f"{tmp_path / 'none.toml'}: no such file" in error_line(result)
    assert hb("config", "show", env=env).returncode == 0


def test_a_config_path_that_is_no_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    (tmp_path / "dangling.toml").symlink_to(tmp_path / "gone.toml")
    for name in ("dir.toml", "dangling.toml"):
        result = hb("config", "show", env=cli_env(HOVERBENTLEY_CONFIG=str(tmp_path / name)))
        assert result.returncode == 2
        assert error_line(result) == (
            f"hoverbentley: error: {tmp_path / name}: not a file (a directory, or a link to"
            " nothing)"
        )
