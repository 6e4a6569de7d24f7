"""What the command line means, checked in one place.

The argparse types of the numeric options are here (a profile's keys are read with the same
ones), so a number is refused with the same words wherever it comes from. So are the typed
settings a command runs with: :func:`build` makes them from the parsed command line once,
right after parsing (and after the profile filled in what the flags left), and checks them
there. A handler takes its command's settings, a frozen dataclass of its own arguments and of
the concerns it shares with other commands (:class:`Output`, :class:`HttpSettings`,
:class:`ArchiveRun`, :class:`HoverAccount`, :class:`BentleyAccount`,
:class:`BentleyWebhooksAccount`); nothing after
:func:`build` reads the ``argparse.Namespace``.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Generic, Literal, TypeVar, get_type_hints
from urllib.parse import urlsplit

from ..archive import ArchiveOptions
from ..archive.options import MAX_AT_ONCE
from ..archive.shard import Shard, ShardBy, parse_shard, shard_from_env
from ..bentley.auth import IMS_TOKEN_URL
from ..bentley.defaults import ANALYSIS_V2_URL, MODELING_V2_URL, WEBHOOKS_URL
from ..bentley.defaults import MODELING_V1_URL as V1_URL
from ..bentley.defaults import REALITY_DATA_URL as REALITY_BASE_URL
from ..config import HttpConfig
from ..errors import ConfigurationError
from .common import env

# -- numbers, as argparse types -----------------------------------------------------------------


def _whole_number(text: str, minimum: int, rule: str, maximum: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise argparse.ArgumentTypeError(f"{rule}: {value}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    return _whole_number(text, 0, "must be 0 or more")


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    return _whole_number(text, 1, "must be at least 1")


def worker_count(text: str) -> int:
    """An argparse type (and a profile's): how many at once (``--concurrency`` and the like),
    1 to :data:`~hoverbentley.archive.options.MAX_AT_ONCE`: a mistyped 10**20 must not
    reach the pipeline, which starts its tasks up front."""
    return _whole_number(text, 1, f"must be 1 to {MAX_AT_ONCE}", MAX_AT_ONCE)


def port(text: str) -> int:
    """An argparse type: a TCP port to listen on, 0 (any free one) to 65535."""
    return _whole_number(text, 0, "not a port (0 to 65535)", 65535)


def _number(text: str, *, what: str, positive: bool) -> float:
    """A finite number, > 0 when ``positive`` else >= 0 (``nan`` and ``inf`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a {what}: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite {what}: {text!r}")
    if positive and value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


def non_negative_number(text: str) -> float:
    """An argparse type (and a profile's): a finite number >= 0 (requests a minute)."""
    return _number(text, what="number", positive=False)


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds >= 0 (``--retry-for``, ``--max-wait``)."""
    return _number(text, what="number of seconds", positive=False)


def positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0 (the timeouts)."""
    return _number(text, what="number of seconds", positive=True)


#: Size suffixes, all 1024-based whichever way they are written (``50M``, ``50MiB`` and ``50MB``
#: are the same, as rclone reads them); sizes are printed in IEC units (``50.0 MiB``).
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _amount(text: str, what: str, *, per_second: bool) -> float:
    """A byte count with an optional K, M, G or T suffix (``KiB``/``KB`` alike)."""
    value = text.strip().upper()
    if per_second:
        value = value.removesuffix("/S")
    value = value.removesuffix("IB").removesuffix("B")
    unit = value[-1:] if value[-1:] in _UNITS else ""
    examples = "50M, 1.5G, 800K" if per_second else "500M, 2G, 10GiB"
    try:
        number = float(value[: len(value) - len(unit)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a {what}: {text!r} (use {examples})") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"not a finite {what}: {text!r}")
    if number < 0:
        raise argparse.ArgumentTypeError(f"a {what} cannot be negative: {text!r}")
    return number * _UNITS[unit]


def bandwidth(text: str) -> float:
    """An argparse type: a rate in bytes a second such as ``50M`` or ``1.5G`` (``0``: none)."""
    return _amount(text, "rate", per_second=True)


def byte_size(text: str) -> int:
    """An argparse type: a size in bytes > 0 such as ``500M``, ``2G`` or ``10GiB``."""
    value = _amount(text, "size", per_second=False)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte: {text!r}")
    return int(value)


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """An argparse type: a duration > 0 in seconds (``90``) or with units, as rclone and Go
    write them (``90s``, ``30m``, ``1h30m``, ``2d``)."""
    value = text.strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        parts = _DURATION.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise argparse.ArgumentTypeError(
                f"not a duration: {text!r} (use seconds, or 90s, 30m, 1h30m, 2d)"
            ) from None
        seconds = sum(float(n) * _SECONDS[u] for n, u in parts)
    if not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(f"not a finite duration: {text!r}")
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return seconds


def shard_arg(text: str) -> Shard:
    """An argparse type: ``--shard K/N``."""
    try:
        return parse_shard(text)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: The environment's ``--shards``.
SHARDS_VARIABLE = "HOVERBENTLEY_SHARDS"


def env_count(name: str) -> int | None:
    """A count >= 1 from the environment variable ``name``; ``None`` when it is anything else."""
    value = os.environ.get(name)
    return int(value) if value and value.isdigit() and int(value) > 0 else None


# -- the settings a command runs with -----------------------------------------------------------

Api = Literal["v1", "v2"]
Service = Literal["modeling", "analysis"]
APIS: tuple[Api, ...] = ("v1", "v2")
SERVICES: tuple[Service, ...] = ("modeling", "analysis")
#: Each Bentley API's base-URL variable and default, by (api, service).
BASE_URLS: dict[tuple[Api, Service], tuple[str, str]] = {
    ("v1", "modeling"): ("BENTLEY_BASE_URL", V1_URL),
    ("v2", "modeling"): ("BENTLEY_V2_BASE_URL", MODELING_V2_URL),
    ("v2", "analysis"): ("BENTLEY_ANALYSIS_BASE_URL", ANALYSIS_V2_URL),
}
#: The base-URL variable of Bentley's Webhooks v2 API.
WEBHOOKS_URL_VARIABLE = "BENTLEY_WEBHOOKS_BASE_URL"
#: The HTTP flags that are :class:`HttpConfig` fields of the same name.
_HTTP_FLAGS = (
    "max_retries",
    "retry_for",
    "connect_timeout",
    "read_timeout",
    "stall_timeout",
    "max_outage",
)


@dataclass(frozen=True)
class Output:
    """What a command prints and logs.

    ``verbose`` and ``quiet`` count ``-v`` and ``-q`` before the command and after it;
    ``progress``: whether to draw progress on stderr (``--progress``/``--no-progress``, else
    not with ``--json`` or ``-q``).
    """

    verbose: int = 0
    quiet: bool = False
    log_file: str | None = None
    log_format: str = "text"
    json: bool = False
    progress: bool = True


@dataclass(frozen=True)
class HttpSettings:
    """The HTTP flags as a client's :class:`HttpConfig`, and the shard count of the run."""

    config: HttpConfig = field(default_factory=HttpConfig)
    #: N of ``--shard K/N``: the N shards share the provider's request quota.
    shards: int | None = None

    def for_provider(self, requests_per_minute: float | None) -> HttpConfig:
        """The config of a client whose service allows ``requests_per_minute``: a shard of N
        takes an N-th of it, unless ``--requests-per-minute`` set the limit."""
        if self.shards is None or requests_per_minute is None:
            return self.config
        return self.config.for_provider(requests_per_minute / self.shards)


@dataclass(frozen=True)
class ArchiveRun:
    """The archive run flags: the :class:`ArchiveOptions`, the shard and what it splits, and
    how often progress is shown (``None``: the default of a terminal or a log)."""

    options: ArchiveOptions = field(default_factory=ArchiveOptions)
    shard: Shard | None = None
    shard_by: ShardBy = "job"
    progress_interval: float | None = None
    #: ``--bwlimit`` in bytes a second (``None``: no limit), for the run's start line; the
    #: clients apply it through :class:`HttpSettings`.
    bandwidth_limit: float | None = None


@dataclass(frozen=True)
class HoverAccount:
    """Hover's site, credentials and the user the requests act for, as the flags, the
    environment and the profile give them (checked when a client is made of them)."""

    base_url: str
    token_file: str
    token_store: str | None = None
    token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    current_user_email: str | None = None
    current_user_id: str | None = None


@dataclass(frozen=True)
class BentleyAccount:
    """The Bentley API chosen and its base URL, the credentials, and the other hosts."""

    api: Api
    service: Service
    #: The API's base URL: ``--base-url``, the API's variable, the profile's, Bentley's.
    base_url: str
    token_url: str
    reality_url: str
    token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class BentleyWebhooksAccount:
    """Bentley's Webhooks v2 API: its base URL (``--base-url``, else
    ``BENTLEY_WEBHOOKS_BASE_URL``, else Bentley's) and the credentials of the ``bentley``
    commands."""

    base_url: str
    token_url: str
    token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)


#: The settings types a command's settings are made of, built from the flags they share.
CONCERNS: tuple[type, ...] = (
    Output,
    HttpSettings,
    ArchiveRun,
    HoverAccount,
    BentleyAccount,
    BentleyWebhooksAccount,
)

S = TypeVar("S")


@dataclass(frozen=True)
class Handler(Generic[S]):
    """A command: the type of the settings it runs with, and the function that runs it.

    ``settings`` is :class:`Output` or another concern, or a frozen dataclass whose fields are
    concerns (taken by their type) and the command's own arguments (by their name).
    """

    settings: type[S]
    run: Callable[[S], Awaitable[int]] | Callable[[S], int]


@dataclass(frozen=True)
class Command(Generic[S]):
    """A command to run: its handler and its settings."""

    handler: Handler[S]
    settings: S
    #: The API base URL to point at when its host cannot be reached (``--base-url``; Hover's
    #: URL wherever it came from).
    base_url: str | None = None


def output_of(args: argparse.Namespace) -> Output:
    """The :class:`Output` of the parsed command line (what logging needs first)."""
    given = vars(args)
    quiet = bool(given["quiet"] or given.get("quiet_after", False))
    as_json = bool(given.get("json", False))
    progress = given.get("progress")
    return Output(
        verbose=given["verbose"] + given.get("verbose_after", 0),
        quiet=quiet,
        log_file=given["log_file"],
        log_format=given["log_format"],
        json=as_json,
        progress=not quiet and (bool(progress) if progress is not None else not as_json),
    )


def build(
    args: argparse.Namespace, output: Output, profile_urls: Mapping[str, str]
) -> Command[Any]:
    """The command ``args`` names, with its settings built and checked: the one place the
    parsed command line (a profile applied, its Bentley URLs in ``profile_urls``) is read."""
    handler: Handler[Any] = args.handler
    parts = _Parts(vars(args), output, profile_urls)
    return Command(handler, parts.make(handler.settings), parts.base_url)


def concern_of(
    kind: type[S], given: Mapping[str, Any], profile_urls: Mapping[str, str] | None = None
) -> S:
    """The concern ``kind`` (an account) built from ``given`` values in place of parsed flags:
    for a command that serves several providers, whose flags would collide."""
    made: S = _Parts(given, Output(), profile_urls or {})._concern(kind)  # type: ignore[assignment]
    return made


class _Parts:
    """Builds each concern a command's settings hold once, from the parsed flags."""

    def __init__(
        self, given: Mapping[str, Any], output: Output, profile_urls: Mapping[str, str]
    ) -> None:
        self.given = given
        self.profile_urls = profile_urls
        self.base_url: str | None = None
        self.made: dict[type, object] = {Output: output}
        self.makers: dict[type, Callable[[], object]] = {
            HttpSettings: self._http,
            ArchiveRun: self._run,
            HoverAccount: self._hover,
            BentleyAccount: self._bentley,
            BentleyWebhooksAccount: self._bentley_webhooks,
        }

    def make(self, kind: type[Any]) -> Any:
        if kind in CONCERNS:
            return self._concern(kind)
        hints = get_type_hints(kind)
        values = {
            f.name: self._concern(hints[f.name])
            if hints[f.name] in CONCERNS
            else self.given[f.name]
            for f in fields(kind)
        }
        return kind(**values)

    def _concern(self, kind: type) -> object:
        if kind not in self.made:
            self.made[kind] = self.makers[kind]()
        return self.made[kind]

    @functools.cached_property
    def shard(self) -> Shard | None:
        """``--shard``, else ``JOB_COMPLETION_INDEX`` of ``--shards``; they must agree."""
        shard: Shard | None = self.given.get("shard")
        count: int | None = self.given.get("shards")
        raw = os.environ.get(SHARDS_VARIABLE, "").strip()
        if count is None and raw:  # set, but not a count: never taken for "not sharded"
            raise ConfigurationError(
                f"{SHARDS_VARIABLE}={raw!r} is not a shard count (a whole number of at least 1)"
            )
        if shard is None:
            return shard_from_env(count)
        if count is not None and count != shard[1]:
            raise ConfigurationError(f"--shard {shard[0]}/{shard[1]} and --shards {count} disagree")
        return shard

    def _http(self) -> HttpSettings:
        given = self.given
        shard = self.shard
        ca_file = given["ca_file"]
        if ca_file and not os.path.isfile(ca_file):
            raise ConfigurationError(
                f"--ca-file (HOVERBENTLEY_CA_FILE): {ca_file}: no such file; a CA bundle in PEM"
            )
        values: dict[str, Any] = {"ca_file": ca_file}
        rpm = given["requests_per_minute"]
        if rpm is not None:
            values["requests_per_minute"] = rpm if rpm > 0 else None
        for name in _HTTP_FLAGS:
            if given[name] is not None:
                values[name] = given[name]
        if given["bwlimit"]:
            values["bandwidth_limit"] = given["bwlimit"]
        try:
            config = HttpConfig(**values)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        return HttpSettings(config, None if shard is None else shard[1])

    def _run(self) -> ArchiveRun:
        given = self.given
        options = ArchiveOptions(
            concurrency=given["concurrency"],
            per_host=given["per_host"] or given["concurrency"],
            detail_concurrency=given["detail_concurrency"],
            retries=given["retries"],
            dry_run=bool(given.get("dry_run", False)),
            max_transfer=given.get("max_transfer"),
            max_duration=given.get("max_duration"),
        )
        return ArchiveRun(
            options,
            self.shard,
            given["shard_by"],
            given.get("progress_interval"),
            given.get("bwlimit") or None,
        )

    def _hover(self) -> HoverAccount:
        given = _trimmed(self.given, _CREDENTIALS)
        self.base_url = given["base_url"]
        return HoverAccount(
            base_url=given["base_url"],
            token=given["token"],
            client_id=given["client_id"],
            client_secret=given["client_secret"],
            refresh_token=given["refresh_token"],
            token_file=given["token_file"],
            token_store=given.get("token_store"),
            current_user_email=given["current_user_email"],
            current_user_id=given["current_user_id"],
        )

    def _bentley(self) -> BentleyAccount:
        given = _trimmed(self.given, _CREDENTIALS)
        service: Service = given["service"]
        api = _api(given["api"], service)
        variable, default = BASE_URLS[(api, service)]
        flag: str | None = given["base_url"]
        self.base_url = flag
        base_url = flag or env(variable) or self.profile_urls.get(variable) or default
        token_url, reality_url = _beside(base_url, given["token_url"], given["reality_url"])
        return BentleyAccount(
            api=api,
            service=service,
            base_url=base_url,
            token_url=token_url,
            reality_url=reality_url,
            token=given["token"],
            client_id=given["client_id"],
            client_secret=given["client_secret"],
        )

    def _bentley_webhooks(self) -> BentleyWebhooksAccount:
        given = self.given
        flag: str | None = given["base_url"]
        self.base_url = flag
        return BentleyWebhooksAccount(
            base_url=flag or env(WEBHOOKS_URL_VARIABLE) or WEBHOOKS_URL,
            token_url=given["token_url"],
            token=given["token"],
            client_id=given["client_id"],
            client_secret=given["client_secret"],
        )


#: What a person pastes into a variable or a flag: surrounding white space (a trailing newline
#: from ``$(cat file)``, a space) is never part of it.
_CREDENTIALS = (
    "token",
    "client_id",
    "client_secret",
    "refresh_token",
    "current_user_email",
    "current_user_id",
    "base_url",
    "token_url",
    "reality_url",
)


def _trimmed(given: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """``given`` with the text values of ``names`` stripped of surrounding white space."""
    out = dict(given)
    for name in names:
        if isinstance(out.get(name), str):
            out[name] = out[name].strip()
    return out


#: Bentley's own API host: its token endpoint and Reality Management are its neighbours.
_BENTLEY_API = "https://api.bentley.com"


def _beside(base_url: str, token_url: str, reality_url: str) -> tuple[str, str]:
    """The token endpoint and Reality Management of an API at ``base_url``.

    Left at Bentley's defaults while ``base_url`` names another host (the emulator, a proxy,
    a test server), they would send a bearer token or a client secret to production hosts
    the user never named: there they follow ``base_url``'s host, in Bentley's layout.
    """
    parts = urlsplit(base_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin == _BENTLEY_API or not parts.netloc:
        return token_url, reality_url
    if token_url == IMS_TOKEN_URL:
        token_url = origin + urlsplit(IMS_TOKEN_URL).path
    if reality_url == REALITY_BASE_URL:
        reality_url = origin + urlsplit(REALITY_BASE_URL).path
    return token_url, reality_url


def _api(flag: str | None, service: Service) -> Api:
    """``--api``, else ``BENTLEY_API``, else v2 for Analysis and v1 otherwise."""
    api = flag or env("BENTLEY_API")
    if api is None:
        return "v2" if service == "analysis" else "v1"
    if api not in APIS:
        raise ConfigurationError(f"BENTLEY_API must be v1 or v2, not {api!r}")
    if api == "v1" and service == "analysis":
        raise ConfigurationError(
            "Reality Analysis has no v1 API: use --api v2 with --service analysis"
        )
    return "v1" if api == "v1" else "v2"
