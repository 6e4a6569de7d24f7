"""What the command line means, checked in one place.

The argparse types of the numeric options are here (a profile's keys are read with the same
ones), so a number is refused with the same words wherever it comes from.
"""

from __future__ import annotations

import argparse
import os

from ..archive.shard import Shard, parse_shard
from ..errors import ConfigurationError

# -- numbers, as argparse types -----------------------------------------------------------------


def _whole_number(text: str, minimum: int, rule: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{rule}: {value}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    return _whole_number(text, 0, "must be 0 or more")


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    return _whole_number(text, 1, "must be at least 1")


def non_negative_number(text: str) -> float:
    """A profile's number of seconds or requests a minute: a number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return value


def seconds(text: str) -> float:
    """An argparse type: a number of seconds >= 0 (``--max-wait``, ``--poll-interval``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds: {text}")
    return value


_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def bandwidth(text: str) -> float:
    """An argparse type: a rate in bytes a second such as ``50M`` or ``1.5G`` (``0``: none)."""
    value = text.strip().upper().removesuffix("/S").removesuffix("IB").removesuffix("B")
    unit = value[-1:] if value[-1:] in _UNITS else ""
    try:
        number = float(value[: len(value) - len(unit)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (use 50M, 1.5G, 800K)") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"a rate cannot be negative: {text!r}")
    return number * _UNITS[unit]


def shard_arg(text: str) -> Shard:
    """An argparse type: ``--shard K/N``."""
    try:
        return parse_shard(text)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def env_count(name: str) -> int | None:
    """A count >= 1 from the environment variable ``name``; ``None`` when it is anything else."""
    value = os.environ.get(name)
    return int(value) if value and value.isdigit() and int(value) > 0 else None
