"""A profile applied under the command line: flags, then the environment, then the profile,
then the built-in defaults; and the effective settings with where each came from."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ..redact import redact_url
from .common import env
from .profiles import PROVIDERS, SECTIONS, SHARED, Key, Profile, Setting, chosen, load

_UNSET = object()
_DESTS = frozenset(k.dest for k in SHARED) | frozenset(
    k.dest for keys in SECTIONS.values() for k in keys
)


def apply_profile(
    args: argparse.Namespace,
    argv: Sequence[str],
    build: Callable[[], argparse.ArgumentParser],
) -> dict[str, str]:
    """Fill what neither a flag nor the environment set from the chosen profile, if any.

    A Bentley base URL is kept for the API it belongs to: those come back, by variable
    (``BENTLEY_V2_BASE_URL``: URL), for the settings to pick the chosen API's.
    """
    name, _ = chosen(args.profile)
    if not name or args.command not in (*PROVIDERS, "serve"):
        return {}
    profile = load(name)
    given = given_flags(argv, build)
    urls: dict[str, str] = {}
    for section in ("", args.command):
        for setting in profile.settings.get(section, {}).values():
            key = setting.key
            if key.dest in given or not hasattr(args, key.dest):
                continue
            if key.env and env(key.env):
                continue
            value = env(str(setting.value)) if key.secret else setting.value
            if value is None:
                continue
            if key.url_of_api and key.env:
                urls[key.env] = str(value)
            else:
                setattr(args, key.dest, value)
    return urls


def unflagged(section: str, profile: Profile | None) -> tuple[dict[str, object], dict[str, str]]:
    """The settings of ``section`` for a command without its flags (``serve``, which serves
    both providers): each from its variable, else from ``profile``; and, apart, the profile's
    Bentley base URLs by variable, for the settings to pick the chosen API's."""
    given = profile.settings.get(section, {}) if profile else {}
    values: dict[str, object] = {}
    urls: dict[str, str] = {}
    for key in SECTIONS[section]:
        setting = given.get(key.name)
        if key.url_of_api:
            if key.env and setting is not None:
                urls[key.env] = str(setting.value)
            continue
        value: object = env(key.env) if key.env else None
        if value is None and setting is not None:
            value = env(str(setting.value)) if key.secret else setting.value
        if value is not None:
            values[key.dest] = value
    return values, urls


def given_flags(argv: Sequence[str], build: Callable[[], argparse.ArgumentParser]) -> set[str]:
    """The destinations a profile may fill that ``argv`` sets itself: parsed again with a
    marker as every such default, what is not the marker came from the command line."""
    parser = build()
    for each in _parsers(parser):
        each.set_defaults(**{a.dest: _UNSET for a in each._actions if a.dest in _DESTS})
    marked, _ = parser.parse_known_args(argv)
    return {d for d in _DESTS if getattr(marked, d, _UNSET) is not _UNSET}


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def leaf(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
    """The parser of the command ``path`` (e.g. ``"hover", "archive"``)."""
    for word in path:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = actions[0].choices[word]
    return parser


@dataclass(frozen=True)
class Effective:
    """One effective setting: its name, the value as shown (secrets redacted) and its source."""

    name: str
    value: str | None
    source: str


def effective(profile: Profile | None, defaults: Callable[[str, Key], object]) -> list[Effective]:
    """Every setting a profile may hold, as the environment and ``profile`` make it now;
    ``defaults(section, key)`` gives the built-in value."""
    rows: list[Effective] = []
    for section, keys in (("", SHARED), *SECTIONS.items()):
        chosen_ = profile.settings.get(section, {}) if profile else {}
        for key in keys:
            setting = chosen_.get(key.name)
            rows.append(_row(section, key, setting, profile, defaults))
    return rows


def _row(
    section: str,
    key: Key,
    setting: Setting | None,
    profile: Profile | None,
    defaults: Callable[[str, Key], object],
) -> Effective:
    shown = key.dest if key.secret else key.name
    name = f"{section}.{shown}" if section else shown
    if key.env and env(key.env):
        return Effective(name, _show(key, env(key.env)), f"env {key.env}")
    if setting is not None and profile is not None:
        if key.secret:
            variable = str(setting.value)
            value = env(variable)
            state = "" if value else ", not set"
            return Effective(
                name, _show(key, value), f"{profile.where(setting)}: env {variable}{state}"
            )
        return Effective(name, _show(key, setting.value), profile.where(setting))
    return Effective(name, _show(key, defaults(section, key)), "default")


def _show(key: Key, value: object) -> str | None:
    if value is None:
        return None
    if key.secret:
        return "***"
    text = str(value)
    return redact_url(text) if "url" in key.name else text
