"""``hoverbentley config show | path``: the effective settings and where the file is."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from ..config import HttpConfig
from .precedence import Effective, effective, leaf
from .profiles import CONFIG_ENV, Key, check_file, chosen, config_path, load
from .settings import BASE_URLS, Handler, Output


@dataclass(frozen=True)
class ConfigShowCommand:
    """``config show``: the profile asked for with ``--profile``, if one was."""

    profile: str | None
    output: Output


def cmd_path(_output: Output) -> int:
    print(config_path())
    return 0


def cmd_show(s: ConfigShowCommand) -> int:
    from . import build_parser  # the parser of every command, for their built-in defaults

    name, how = chosen(s.profile)
    profile = load(name) if name else None
    if profile is None:
        check_file()
    parser = build_parser()
    hover, bentley = leaf(parser, "hover", "archive"), leaf(parser, "bentley", "archive")
    http = HttpConfig()
    urls = {variable: url for variable, url in BASE_URLS.values()}

    def default(section: str, key: Key) -> object:
        if key.url_of_api and key.env:
            return urls[key.env]
        command = bentley if section == "bentley" else hover
        value = command.get_default(key.dest)
        if value is None and key.dest == "requests_per_minute":
            return "the provider's limit"
        return value if value is not None else getattr(http, key.dest, None)

    rows = effective(profile, default)
    path = config_path()
    if s.output.json:
        print(
            json.dumps(
                {
                    "file": str(path),
                    "profile": name,
                    "settings": {r.name: {"value": r.value, "source": r.source} for r in rows},
                }
            )
        )
        return 0
    state = "" if path.is_file() else " (none there)"
    print(f"config file: {path}{state}")
    print(f"profile: {f'{name} (from {how})' if name else 'none'}")
    width = max(len(r.name) for r in rows)
    for row in rows:
        print(f"{row.name:<{width}}  {_value(row):<24}  {row.source}")
    return 0


def _value(row: Effective) -> str:
    return "(unset)" if row.value is None else row.value


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``config show`` and ``config path``."""
    config = subparsers.add_parser(
        "config",
        help="the config file and its profiles",
        description="Profiles in a TOML config file give defaults for flags, base URLs and the"
        " names of the environment variables that hold credentials (never the secrets"
        " themselves). Precedence: flags, then the environment, then the profile chosen with"
        f" --profile or HOVERBENTLEY_PROFILE, then built-in defaults. {CONFIG_ENV} names"
        " another file.",
    )
    commands = config.add_subparsers(dest="config_command", metavar="COMMAND", required=True)
    show = commands.add_parser(
        "show",
        parents=[common],
        help="print the effective settings, secrets redacted, and where each came from",
    )
    show.add_argument("--json", action="store_true", help="as one JSON object")
    show.set_defaults(handler=Handler(ConfigShowCommand, cmd_show))
    where = commands.add_parser("path", parents=[common], help="print where the file is read")
    where.set_defaults(handler=Handler(Output, cmd_path))
