"""Injected faults: scripted ones for exact tests, random ones for soaks."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from .config import FaultConfig

#: Hosts whose faults follow ``FaultConfig.targets == "storage"``; the others are ``api``.
STORAGE_HOSTS = frozenset({"storage", "blob"})

Fault = Literal[
    "500",
    "503",
    "429",
    "429-no-retry-after",
    "reset",
    "truncate",
    "slow",
    "hang",
    "html200",
    "junk",
    "empty",
    "bad-length",
]
FAULTS: frozenset[str] = frozenset(Fault.__args__)  # type: ignore[attr-defined]


@dataclass
class _Script:
    fragment: str
    faults: deque[Fault]


class FaultPlan:
    """Decides, request by request, whether and how to misbehave.

    Scripted faults (:meth:`script`) come first, in order, for requests whose path and query
    contain a fragment; then the random rates of :class:`FaultConfig`.
    """

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._scripts: list[_Script] = []
        #: How many times each fault was injected.
        self.injected: dict[str, int] = {}

    def script(self, fragment: str, *faults: Fault) -> None:
        """Answer the next requests matching ``fragment`` with ``faults``, one each."""
        unknown = [f for f in faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {sorted(FAULTS)}")
        self._scripts.append(_Script(fragment, deque(faults)))

    def clear(self) -> None:
        """Drop every scripted fault not yet used."""
        self._scripts.clear()

    def config_for(self, host: str, port: str) -> FaultConfig:
        """The fault settings that apply to ``host`` (living on ``port``)."""
        return self.config

    def _applies(self, cfg: FaultConfig, host: str) -> bool:
        kind = "storage" if host in STORAGE_HOSTS else "api"
        return cfg.targets in ("all", kind)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a hook for ending long waits when the emulator stops)."""
        await asyncio.sleep(seconds)

    def pick(self, host: str, port: str, request: web.Request) -> Fault | None:
        """The fault for this request, if any."""
        path_qs = request.path_qs
        for entry in self._scripts:
            if entry.faults and entry.fragment in path_qs:
                return self._count(entry.faults.popleft())
        cfg = self.config_for(host, port)
        if not self._applies(cfg, host):
            return None
        roll = self._rng.random()
        for fault, rate in (
            ("500", cfg.error_500),
            ("503", cfg.error_503),
            ("429", cfg.rate_limit),
            ("reset", cfg.reset),
            ("truncate", cfg.truncate),
            ("slow", cfg.slow),
        ):
            if roll < rate:
                if fault == "429" and self._rng.random() >= cfg.retry_after_share:
                    fault = "429-no-retry-after"
                return self._count(fault)  # type: ignore[arg-type]
            roll -= rate
        return None

    def latency(self, host: str, port: str = "") -> float:
        """Random extra latency for this request, in seconds."""
        cfg = self.config_for(host, port)
        low, high = cfg.latency
        if high <= 0 or not self._applies(cfg, host):
            return 0.0
        return self._rng.uniform(low, high)

    def _count(self, fault: Fault) -> Fault:
        self.injected[fault] = self.injected.get(fault, 0) + 1
        return fault
