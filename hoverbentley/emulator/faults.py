"""Injected faults: scripted ones for exact tests, random ones (per host) for soaks."""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from .config import HOSTS, FaultConfig
from .counters import Counters
from .outages import Outages

#: Hosts whose faults follow ``FaultConfig.targets == "storage"``; the others are ``api``.
STORAGE_HOSTS = frozenset({"storage", "blob"})
#: Query parameters that change from one request of a resource to the next (signatures,
#: the current user): not part of a resource's identity for ``max_in_a_row``.
VOLATILE = frozenset(
    {"X-Expires", "X-Signature", "sv", "sr", "sp", "se", "st", "spr", "sig", "skoid"}
    | {"current_user_email", "current_user_id"}
)

Fault = Literal[
    "500",
    "503",
    "429",
    "429-no-retry-after",
    "reset",
    "truncate",
    "slow",
    "stall",
    "hang",
    "html200",
    "junk",
    "empty",
    "bad-length",
]
FAULTS: frozenset[str] = frozenset(Fault.__args__)  # type: ignore[attr-defined]
_RANDOM: tuple[tuple[Fault, str], ...] = (
    ("500", "error_500"),
    ("503", "error_503"),
    ("429", "rate_limit"),
    ("reset", "reset"),
    ("truncate", "truncate"),
    ("slow", "slow"),
    ("stall", "stall"),
)


@dataclass
class _Script:
    fragment: str
    faults: deque[Fault]


def resource_of(request: web.Request) -> str:
    """A resource's identity: its path and the query without signatures or the user."""
    query = [(k, v) for k, v in parse_qsl(request.query_string) if k not in VOLATILE]
    return request.path + ("?" + urlencode(sorted(query)) if query else "")


class FaultPlan:
    """Decides, request by request, whether and how to misbehave.

    Scripted faults (:meth:`script`) come first, in order, for requests whose path and query
    contain a fragment; then the random rates of the host's :class:`FaultConfig` (its entry
    of :attr:`hosts`, else :attr:`config` if its ``targets`` include the host). Both
    :attr:`config` and :attr:`hosts` may be changed while the emulator runs.
    """

    def __init__(
        self,
        config: FaultConfig,
        hosts: Mapping[str, FaultConfig] | None = None,
        counters: Counters | None = None,
        outages: Outages | None = None,
    ) -> None:
        self.config = config
        self.outages = outages or Outages()
        #: Faults of single hosts, by name (see :data:`~.config.HOSTS`).
        self.hosts: dict[str, FaultConfig] = {}
        for name, cfg in (hosts or {}).items():
            self.set_host(name, cfg)
        self.counters = counters or Counters()
        self._rng = random.Random(config.seed)
        self._host_rngs: dict[str, random.Random] = {}
        self._scripts: list[_Script] = []
        self._streaks: dict[tuple[str, str], int] = {}
        #: How many times each fault was injected (every host).
        self.injected: dict[str, int] = {}
        #: Set while the emulator stops: long waits (stalls, hangs) end early.
        self.stopping = False

    def set_host(self, name: str, config: FaultConfig | None) -> None:
        """Give host ``name`` faults of its own (``None``: back to :attr:`config`)."""
        if name not in HOSTS:
            raise ValueError(f"unknown host {name!r}; known: {', '.join(HOSTS)}")
        if config is None:
            self.hosts.pop(name, None)
        else:
            self.hosts[name] = config

    def script(self, fragment: str, *faults: Fault) -> None:
        """Answer the next requests matching ``fragment`` with ``faults``, one each."""
        unknown = [f for f in faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {sorted(FAULTS)}")
        self._scripts.append(_Script(fragment, deque(faults)))

    def clear(self) -> None:
        """Drop every scripted fault not yet used."""
        self._scripts.clear()

    def config_for(self, host: str, port: str = "") -> FaultConfig:
        """The fault settings of ``host`` (living on ``port``)."""
        return self.hosts.get(host) or self.hosts.get(port) or self.config

    def _random_source(self, host: str, port: str) -> tuple[FaultConfig, random.Random] | None:
        """The settings and generator of ``host``'s random faults; ``None`` if it has none."""
        for name in (host, port):
            cfg = self.hosts.get(name)
            if cfg is not None:
                rng = self._host_rngs.get(name)
                if rng is None:
                    rng = self._host_rngs[name] = random.Random(f"{cfg.seed}:{name}")
                return cfg, rng
        kind = "storage" if host in STORAGE_HOSTS else "api"
        if self.config.targets in ("all", kind):
            return self.config, self._rng
        return None

    def pick(self, host: str, port: str, request: web.Request) -> Fault | None:
        """The fault for this request, if any."""
        path_qs = request.path_qs
        for entry in self._scripts:
            if entry.faults and entry.fragment in path_qs:
                return self._count(host, entry.faults.popleft())
        source = self._random_source(host, port)
        if source is None:
            return None
        cfg, rng = source
        fault = _roll(cfg, rng)
        if cfg.max_in_a_row is not None:
            key = (host, resource_of(request))
            streak = self._streaks.get(key, 0)
            if fault is not None and streak >= cfg.max_in_a_row:
                fault = None
            self._streaks[key] = streak + 1 if fault is not None else 0
        return None if fault is None else self._count(host, fault)

    def latency(self, host: str, port: str = "") -> float:
        """Random extra latency for this request, in seconds."""
        source = self._random_source(host, port)
        if source is None:
            return 0.0
        cfg, rng = source
        low, high = cfg.latency
        return rng.uniform(low, high) if high > 0 else 0.0

    async def sleep(self, seconds: float, gone: Callable[[], bool] | None = None) -> None:
        """Wait ``seconds``, or less once the emulator stops or ``gone()`` (the client left)."""
        if gone is None and seconds < 1:
            await asyncio.sleep(seconds)
            return
        deadline = time.monotonic() + seconds
        while not self.stopping and not (gone is not None and gone()):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.05))

    def _count(self, host: str, fault: Fault) -> Fault:
        self.injected[fault] = self.injected.get(fault, 0) + 1
        self.counters.faults[host, fault] += 1
        return fault


def _roll(cfg: FaultConfig, rng: random.Random) -> Fault | None:
    roll = rng.random()
    for fault, attribute in _RANDOM:
        rate: float = getattr(cfg, attribute)
        if roll < rate:
            if fault == "429" and rng.random() >= cfg.retry_after_share:
                return "429-no-retry-after"
            return fault
        roll -= rate
    return None
