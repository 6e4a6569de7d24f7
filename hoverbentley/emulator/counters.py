"""What the emulator did to its clients, counted for tests and benchmarks to assert on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Counters:
    """Counts by host name (see :data:`~.config.HOSTS`).

    >>> emu.counters.faults["storage", "reset"], emu.counters.ranged["blob", 206]
    """

    #: Faults injected, by ``(host, kind)`` (scripted and random).
    faults: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Bodies that began to stall, by host.
    stalls: Counter[str] = field(default_factory=Counter)
    #: Requests with ``Range``, ``If-Range`` or ``If-Match``, by ``(host, status)``
    #: (206, 200, 412 or 416).
    ranged: Counter[tuple[str, int]] = field(default_factory=Counter)
    #: Requests refused by an outage, by the outage's host name.
    outage_rejections: Counter[str] = field(default_factory=Counter)

    def faults_of(self, host: str) -> int:
        """Every fault injected into ``host``."""
        return sum(n for (name, _), n in self.faults.items() if name == host)

    def clear(self) -> None:
        """Start counting from zero."""
        for counter in (self.faults, self.stalls, self.ranged, self.outage_rejections):
            counter.clear()
