"""The typed settings a command runs with, built once from the parsed command line."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hoverbentley.archive import ArchiveOptions
from hoverbentley.cli import build_parser
from hoverbentley.cli.settings import (
    ArchiveRun,
    BentleyAccount,
    BentleyWebhooksAccount,
    Command,
    Handler,
    HttpSettings,
    Output,
    build,
    output_of,
)
from hoverbentley.config import PROVIDER_DEFAULT
from hoverbentley.errors import ConfigurationError

HOVER = {"HOVER_TOKEN": "t", "HOVER_CURRENT_USER_EMAIL": "a@b.example"}
#: One command line of every command (OUT is replaced by a directory).
EVERY_COMMAND = [
    ["demo", "OUT"],
    ["emulator"],
    ["hover", "job", "1"],
    ["hover", "jobs"],
    ["hover", "archive", "OUT", "--all"],
    ["bentley", "jobs", "--filter", "x"],
    ["bentley", "job", "x"],
    ["bentley", "archive", "OUT", "--filter", "x"],
    ["bentley", "create", "job.json"],
    ["bentley", "cancel", "x"],
    ["bentley", "wait", "x"],
    ["hover", "webhooks", "create", "https://h.example/hook", "--show-secret"],
    ["hover", "webhooks", "verify", "code"],
    ["hover", "webhooks", "list"],
    ["hover", "webhooks", "delete", "1"],
    ["bentley", "webhooks", "create", "https://h.example/hook", "--secret-file", "s"],
    ["bentley", "webhooks", "list"],
    ["bentley", "webhooks", "activate", "x"],
    ["bentley", "webhooks", "delete", "x"],
    ["verify", "OUT"],
    ["manifest", "merge", "OUT"],
    ["config", "show"],
    ["config", "path"],
    ["completion", "bash"],
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HOVER_, BENTLEY_, HOVERBENTLEY_ or JOB_ variables of the test run: the parser's
    defaults come from the environment when it is built."""
    for name in list(os.environ):
        if name.startswith(("HOVER_", "BENTLEY_", "HOVERBENTLEY_", "JOB_")):
            monkeypatch.delenv(name)


def parsed(*argv: str, env: Mapping[str, str] = HOVER, **urls: str) -> Command[Any]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        args = build_parser().parse_args(list(argv))
        return build(args, output_of(args), urls)


def test_every_command_runs_with_its_own_settings_type(tmp_path: Path) -> None:
    for argv in EVERY_COMMAND:
        line = [str(tmp_path) if a == "OUT" else a for a in argv]
        command = parsed(*line)
        assert isinstance(command.handler, Handler), argv
        assert isinstance(command.settings, command.handler.settings), argv
        values = vars(command.settings).values()
        assert not any(isinstance(v, argparse.Namespace) for v in values), argv


@pytest.mark.parametrize(
    ("argv", "verbose", "quiet", "progress"),
    [
        ([], 0, False, True),
        (["-v", "hover", "archive", "OUT", "--all", "-v"], 2, False, True),
        (["hover", "archive", "OUT", "--all", "-q"], 0, True, False),
        (["hover", "archive", "OUT", "--all", "--json"], 0, False, False),
        (["hover", "archive", "OUT", "--all", "--json", "--progress"], 0, False, True),
        (["-q", "hover", "archive", "OUT", "--all", "--progress"], 0, True, False),
        (["hover", "archive", "OUT", "--all", "--no-progress"], 0, False, False),
    ],
)
def test_output_adds_up_v_and_q_and_settles_progress(
    argv: list[str], verbose: int, quiet: bool, progress: bool
) -> None:
    line = argv or ["hover", "archive", "OUT", "--all"]
    output = parsed(*line).settings.output
    assert (output.verbose, output.quiet, output.progress) == (verbose, quiet, progress)


def test_archive_run_holds_the_options_and_the_shard() -> None:
    run = parsed(
        "hover", "archive", "OUT", "--all", "--concurrency", "3", "--shard", "1/4"
    ).settings.run
    assert run == ArchiveRun(
        ArchiveOptions(concurrency=3, per_host=3, detail_concurrency=4, retries=2),
        shard=(1, 4),
        shard_by="job",
    )


def test_a_shard_shares_the_providers_rate_unless_a_rate_is_given() -> None:
    alone = parsed("hover", "archive", "OUT", "--all").settings.http
    shard = parsed("hover", "archive", "OUT", "--all", "--shard", "0/4").settings.http
    given = parsed(
        "hover", "archive", "OUT", "--all", "--shard", "0/4", "--requests-per-minute", "30"
    ).settings.http
    off = parsed("hover", "jobs", "--requests-per-minute", "0").settings.http
    assert alone.for_provider(100).requests_per_minute is PROVIDER_DEFAULT
    assert shard.for_provider(100).requests_per_minute == 25
    assert given.for_provider(100).requests_per_minute == 30
    assert off.for_provider(100).requests_per_minute is None


def test_kubernetes_shard_comes_from_the_environment() -> None:
    env = {**HOVER, "JOB_COMPLETION_INDEX": "2", "HOVERBENTLEY_SHARDS": "3"}
    settings = parsed("hover", "archive", "OUT", "--all", env=env).settings
    assert settings.run.shard == (2, 3)
    assert settings.http == HttpSettings(settings.http.config, shards=3)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        # (A bad number is refused by the parser, naming the flag: tests/cli/test_habits.py.)
        (["--shard", "1/4", "--shards", "3"], "--shard 1/4 and --shards 3 disagree"),
    ],
)
def test_numbers_are_checked_when_the_settings_are_built(flags: list[str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parsed("hover", "archive", "OUT", "--all", *flags)


def test_bentley_api_service_and_base_url_are_settled_once() -> None:
    env = {"BENTLEY_V2_BASE_URL": "http://v2.example"}

    def account(*flags: str, env: Mapping[str, str] = env, **urls: str) -> BentleyAccount:
        settings = parsed("bentley", "job", "x", *flags, env=env, **urls).settings
        assert isinstance(settings.account, BentleyAccount)
        return settings.account

    assert account().api == "v1"
    assert account("--service", "analysis").api == "v2"
    assert account("--api", "v2").base_url == "http://v2.example"
    assert account("--api", "v2", env={}, BENTLEY_V2_BASE_URL="http://p.example").base_url == (
        "http://p.example"
    )
    assert account("--api", "v2", "--base-url", "http://flag.example").base_url == (
        "http://flag.example"
    )
    with pytest.raises(ConfigurationError, match="BENTLEY_API must be v1 or v2"):
        account(env={"BENTLEY_API": "v3"})


def test_the_webhooks_base_url_and_the_bentley_credentials() -> None:
    def account(*flags: str, env: Mapping[str, str]) -> BentleyWebhooksAccount:
        settings = parsed("bentley", "webhooks", "list", *flags, env=env).settings
        assert isinstance(settings.account, BentleyWebhooksAccount)
        return settings.account

    other = {"BENTLEY_BASE_URL": "http://v1.example", "BENTLEY_TOKEN": "tok-4711"}
    default = account(env=other)
    assert default.base_url == "https://api.bentley.com/webhooks" and default.token == "tok-4711"
    assert "tok-4711" not in repr(default)
    hooks = {**other, "BENTLEY_WEBHOOKS_BASE_URL": "http://hooks.example"}
    assert account(env=hooks).base_url == "http://hooks.example"
    flagged = account("--base-url", "http://flag.example", env=hooks)
    assert flagged.base_url == "http://flag.example"
    assert parsed("bentley", "webhooks", "list", env=hooks).base_url is None


def test_the_base_url_named_on_failure_is_the_flag_for_bentley_and_any_for_hover() -> None:
    assert parsed("bentley", "job", "x", env={"BENTLEY_BASE_URL": "http://e.example"}).base_url is (
        None
    )
    assert parsed("bentley", "job", "x", "--base-url", "http://f.example").base_url == (
        "http://f.example"
    )
    hover = parsed("hover", "jobs", env={**HOVER, "HOVER_BASE_URL": "http://h.example"})
    assert hover.base_url == "http://h.example"
    assert parsed("verify", "OUT").base_url is None


def test_config_path_runs_with_the_output_alone() -> None:
    command = parsed("config", "path")
    assert command.handler.settings is Output
    assert command.settings == Output()
