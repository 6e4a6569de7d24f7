"""The config file: where it is, what it may hold, and reading one profile of it.

``config.toml`` in the platform's config directory holds ``[profile.NAME]`` tables: defaults
for shared flags at the top, ``[profile.NAME.hover]`` and ``[profile.NAME.bentley]`` for each
provider. Credentials are never in the file: a profile names the environment variables that
hold them (``token_env = "PROD_HOVER_TOKEN"``). Every mistake is a usage error naming the
file, the line and the key.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._core.urls import http_url_fault
from ..errors import ConfigurationError
from ..redact import redact_url
from .common import env
from .settings import (
    bandwidth,
    byte_size,
    duration,
    non_negative_int,
    non_negative_number,
    positive_seconds,
    seconds,
    worker_count,
)

CONFIG_ENV = "HOVERBENTLEY_CONFIG"
PROFILE_ENV = "HOVERBENTLEY_PROFILE"
PROVIDERS = ("hover", "bentley")


def config_dir() -> Path:
    """The platform's per-user config directory for hoverbentley, as platformdirs names it
    (``$XDG_CONFIG_HOME`` or ``~/.config`` on Linux and BSD, ``~/Library/Application Support``
    on macOS), except on Windows: ``%APPDATA%`` (roaming, so settings follow the user)."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(env("APPDATA") or home / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = env("XDG_CONFIG_HOME")
        base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".config"
    return base / "hoverbentley"


def config_path() -> Path:
    """``$HOVERBENTLEY_CONFIG``, else ``config.toml`` in :func:`config_dir`."""
    explicit = env(CONFIG_ENV)
    return Path(explicit).expanduser() if explicit else config_dir() / "config.toml"


def _text(text: str) -> str:
    return text


def _http_url(text: str) -> str:
    fault = http_url_fault(text)
    if fault is not None:
        raise ValueError(f"must be an http(s) URL with a host; {redact_url(text)!r} is {fault}")
    return text


def _choice(*choices: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(f"must be one of {', '.join(choices)}: {text!r}")
        return text

    return check


@dataclass(frozen=True)
class Key:
    """A key a profile may set.

    ``dest`` is the argparse destination it fills; ``env`` the variable that overrides it (and
    whose built-in fallback it replaces); ``secret``: the key names an environment variable
    whose value is the setting, never shown.
    """

    name: str
    dest: str
    kind: Callable[[str], object]
    env: str | None = None
    secret: bool = False
    #: Bentley base URLs: looked up by the chosen API (see ``settings.BentleyAccount``).
    url_of_api: bool = False


def _credential(provider: str, flag: str) -> Key:
    variable = f"{provider.upper()}_{flag.upper()}"
    return Key(f"{flag}_env", flag, _text, variable, secret=True)


# Each key takes what its flag takes (see ``options``), so a profile is refused where the flag is.
_SHARED_FLAGS: tuple[tuple[str, Callable[[str], object]], ...] = (
    ("concurrency", worker_count),
    ("per_host", worker_count),
    ("detail_concurrency", worker_count),
    ("retries", non_negative_int),
    ("max_retries", non_negative_int),
    ("retry_for", positive_seconds),
    ("connect_timeout", positive_seconds),
    ("read_timeout", positive_seconds),
    ("stall_timeout", positive_seconds),
    ("max_outage", seconds),
    ("requests_per_minute", non_negative_number),
    ("bwlimit", bandwidth),
    ("max_transfer", byte_size),
    ("max_duration", duration),
)
SHARED = (
    *(Key(name, name, kind) for name, kind in _SHARED_FLAGS),
    Key("ca_file", "ca_file", _text, "HOVERBENTLEY_CA_FILE"),
)

SECTIONS: dict[str, tuple[Key, ...]] = {
    "hover": (
        Key("base_url", "base_url", _http_url, "HOVER_BASE_URL"),
        Key("token_file", "token_file", _text, "HOVER_TOKEN_FILE"),
        Key("token_store", "token_store", _text, "HOVER_TOKEN_STORE"),
        Key("current_user_email", "current_user_email", _text, "HOVER_CURRENT_USER_EMAIL"),
        Key("current_user_id", "current_user_id", _text, "HOVER_CURRENT_USER_ID"),
        *(_credential("hover", f) for f in ("token", "client_id", "client_secret")),
        _credential("hover", "refresh_token"),
        _credential("hover", "webhook_secret"),
    ),
    "bentley": (
        Key("api", "api", _choice("v1", "v2"), "BENTLEY_API"),
        Key("service", "service", _choice("modeling", "analysis")),
        Key("base_url", "base_url", _http_url, "BENTLEY_BASE_URL", url_of_api=True),
        Key("v2_base_url", "base_url", _http_url, "BENTLEY_V2_BASE_URL", url_of_api=True),
        Key(
            "analysis_base_url", "base_url", _http_url, "BENTLEY_ANALYSIS_BASE_URL", url_of_api=True
        ),
        Key("reality_url", "reality_url", _http_url, "BENTLEY_REALITY_URL"),
        Key("token_url", "token_url", _http_url, "BENTLEY_TOKEN_URL"),
        *(_credential("bentley", f) for f in ("token", "client_id", "client_secret")),
        _credential("bentley", "webhook_secret"),
    ),
}
_SECRETS = frozenset({"token", "client_secret", "refresh_token", "client_id", "webhook_secret"})


@dataclass(frozen=True)
class Setting:
    """One value a profile gives, and the line of the file it is on."""

    key: Key
    value: object
    line: int | None


@dataclass(frozen=True)
class Profile:
    """A profile read from the file: its settings by section (``""`` for the shared ones)."""

    name: str
    path: Path
    settings: Mapping[str, Mapping[str, Setting]]

    def where(self, setting: Setting) -> str:
        line = f":{setting.line}" if setting.line else ""
        return f"profile {self.name} ({self.path}{line})"


def chosen(flag: str | None) -> tuple[str | None, str]:
    """The profile asked for and how: ``--profile`` (``flag``), else ``$HOVERBENTLEY_PROFILE``."""
    if flag:
        return flag, "--profile"
    return env(PROFILE_ENV), PROFILE_ENV


def load(name: str, path: Path | None = None) -> Profile:
    """Profile ``name`` of the config file, every profile of which is checked."""
    path = path or config_path()
    profiles = _load_all(path, f"profile {name!r} was asked for")
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigurationError(f"{path}: no profile {name!r} (profiles: {known})")
    return profiles[name]


def check_file(path: Path | None = None) -> None:
    """Check every profile of the config file, if there is one."""
    path = path or config_path()
    if path.is_file():
        _load_all(path, "")
    elif os.path.lexists(path):
        raise ConfigurationError(f"{path}: not a file (a directory, or a link to nothing)")


def _load_all(path: Path, why: str) -> dict[str, Profile]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"{path}: no such file, and {why}"
            f" ('hoverbentley config path' shows where the file is looked for;"
            f" {CONFIG_ENV} names another)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read it: {exc}") from None
    return {n: _check(path, text, n, t) for n, t in _profiles(path, text).items()}


def _profiles(path: Path, text: str) -> dict[str, Any]:
    loads = _toml_loads()
    try:
        data = loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError: "... (at line 3, column 9)"
        message = str(exc)
        at = re.search(r"\(at line (\d+), column \d+\)", message)
        line = at.group(1) if at else str(len(text.splitlines()) or 1)
        raise ConfigurationError(f"{path}:{line}: not valid TOML: {message}") from None
    for key in data:
        if key != "profile":
            raise _unknown(path, text, (), key, "the top level holds [profile.NAME] tables only")
    profiles = data.get("profile", {})
    if not isinstance(profiles, dict):
        raise _wrong(path, text, (), "profile", "must be a table of [profile.NAME] tables")
    for name, table in profiles.items():
        if not isinstance(table, dict):
            raise _wrong(path, text, ("profile",), name, "must be a table")
    return profiles


def _toml_loads() -> Callable[[str], dict[str, Any]]:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads
    try:
        import tomli  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise ConfigurationError(
            "reading the config file on Python 3.10 needs tomli: pip install 'hoverbentley[cli]'"
        ) from None
    loads: Callable[[str], dict[str, Any]] = tomli.loads
    return loads


def _check(path: Path, text: str, name: str, table: Mapping[str, Any]) -> Profile:
    settings: dict[str, dict[str, Setting]] = {"": {}}
    shared = {k.name: k for k in SHARED}
    for key, value in table.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise _wrong(path, text, ("profile", name), key, "must be a table")
            known = {k.name: k for k in SECTIONS[key]}
            settings[key] = _values(path, text, ("profile", name, key), value, known)
        else:
            settings[""].update(_values(path, text, ("profile", name), {key: value}, shared))
    return Profile(name, path, settings)


def _values(
    path: Path,
    text: str,
    table: tuple[str, ...],
    values: Mapping[str, Any],
    known: Mapping[str, Key],
) -> dict[str, Setting]:
    found: dict[str, Setting] = {}
    for name, value in values.items():
        key = known.get(name)
        if key is None:
            if name in _SECRETS:
                hint = f"secrets stay out of the file: set {name}_env to the name of a variable"
            else:
                words = sorted(known) + (sorted(SECTIONS) if len(table) == 2 else [])
                hint = f"known here: {', '.join(words)}"
            raise _unknown(path, text, table, name, hint)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise _wrong(path, text, table, name, "must be a string or a number")
        try:
            checked = key.kind(str(value))
        except (argparse.ArgumentTypeError, ValueError) as exc:
            raise _wrong(path, text, table, name, str(exc)) from None
        if key.secret and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(checked)):
            raise _wrong(path, text, table, name, "must name an environment variable")
        found[name] = Setting(key, checked, line_of(text, (*table, name)))
    return found


def _unknown(path: Path, text: str, table: tuple[str, ...], key: str, hint: str) -> Exception:
    return _error(path, text, table, key, f"unknown key {key!r}", hint)


def _wrong(path: Path, text: str, table: tuple[str, ...], key: str, why: str) -> Exception:
    return _error(path, text, table, key, f"key {key!r}", why)


def _error(
    path: Path, text: str, table: tuple[str, ...], key: str, what: str, detail: str
) -> ConfigurationError:
    line = line_of(text, (*table, key))
    where = f"{path}:{line}" if line else str(path)
    inside = f" in [{'.'.join(table)}]" if table else ""
    return ConfigurationError(f"{where}: {what}{inside}: {detail}")


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in dotted.split("."))


def line_of(text: str, wanted: tuple[str, ...]) -> int | None:
    """The line (from 1) where the key path ``wanted`` is set or its table opens, else the
    first line inside it (``[prof.x]`` for the key ``prof``)."""
    table: tuple[str, ...] = ()
    first: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        assign = None if header else _ASSIGN.match(line)
        if header:
            table = found = _parts(header.group(1))
        elif assign:
            found = (*table, *_parts(assign.group(1)))
        else:
            continue
        if found == wanted:
            return number
        if first is None and found[: len(wanted)] == wanted:
            first = number
    return first


def add_profile_option(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """``--profile NAME``, before the command or after it (where it wins)."""
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=argparse.SUPPRESS if after_command else None,
        help=f"take defaults from [profile.NAME] of the config file (env {PROFILE_ENV};"
        " flags and the environment still win; see 'hoverbentley config show')",
    )
