"""Outage windows: a host that resets every connection, or answers only 503, for a while."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from .config import HOSTS, Outage

Mode = Literal["reset", "503"]


@dataclass
class _Window:
    mode: Mode
    ends: float | None


class Outages:
    """Scheduled and programmatic outages, checked request by request."""

    def __init__(self, scheduled: tuple[Outage, ...] = ()) -> None:
        self._pending = list(scheduled)
        self._active: dict[str, _Window] = {}
        self._seen: Counter[str] = Counter()
        self._started = time.monotonic()
        #: How many outage windows have opened, by host.
        self.opened: Counter[str] = Counter()

    def restart_clock(self) -> None:
        """Measure ``after_seconds`` from now (when the emulator starts)."""
        self._started = time.monotonic()

    def start(self, host: str, seconds: float | None = None, mode: Mode = "reset") -> None:
        """Open an outage of ``host`` now, for ``seconds`` (``None``: until :meth:`end`)."""
        if host not in HOSTS:
            raise ValueError(f"unknown host {host!r}; known: {', '.join(HOSTS)}")
        if mode not in ("reset", "503"):
            raise ValueError(f"unknown outage mode {mode!r}")
        self._open(host, seconds, mode, time.monotonic())

    def _open(self, host: str, seconds: float | None, mode: Mode, at: float) -> None:
        ends = None if seconds is None else at + seconds
        self._active[host] = _Window(mode, ends)
        self.opened[host] += 1

    def end(self, host: str | None = None) -> None:
        """End the outage of ``host`` (every outage without one), scheduled ones included."""
        if host is None:
            self._active.clear()
            self._pending.clear()
            return
        self._active.pop(host, None)
        self._pending = [o for o in self._pending if o.host != host]

    def active(self, host: str | None = None) -> list[str]:
        """Hosts in an outage now (or ``[host]`` if that one is)."""
        now = time.monotonic()
        names = [h for h, w in self._active.items() if w.ends is None or w.ends > now]
        return [h for h in names if host is None or h == host]

    def check(self, names: tuple[str, ...]) -> tuple[str, Mode] | None:
        """Count a request to ``names`` (its host, then its port) and say if it is refused."""
        for name in dict.fromkeys(names):
            self._seen[name] += 1
        self._schedule(names)
        now = time.monotonic()
        for name in names:
            window = self._active.get(name)
            if window is None:
                continue
            if window.ends is not None and window.ends <= now:
                del self._active[name]
                continue
            return name, window.mode
        return None

    def _schedule(self, names: tuple[str, ...]) -> None:
        now = time.monotonic()
        for outage in list(self._pending):
            if outage.host not in names:
                continue
            at = self._started + (outage.after_seconds or 0.0)
            if outage.after_requests is not None:
                if self._seen[outage.host] <= outage.after_requests:
                    continue
                at = max(at, now)
            if at <= now:
                self._pending.remove(outage)
                self._open(outage.host, outage.seconds, outage.mode, at)
