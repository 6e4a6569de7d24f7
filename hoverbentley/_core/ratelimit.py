"""Rate-limit arithmetic (GCRA): when may the next request go."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Gcra:
    """Generic cell-rate algorithm: ``rate`` requests per second with a burst allowance.

    ``reserve(now)`` books the next slot and returns how long the caller must wait for it.
    """

    rate: float
    burst: int = 1
    tat: float = 0.0  # theoretical arrival time of the next request

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError("rate must be > 0")
        if self.burst < 1:
            raise ValueError("burst must be >= 1")

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    def reserve(self, now: float) -> float:
        """Book one request; return the seconds to wait before sending it."""
        tat = max(self.tat, now)
        allowed_at = tat - (self.burst - 1) * self.interval
        wait = max(0.0, allowed_at - now)
        self.tat = tat + self.interval
        return wait

    def pause(self, now: float, seconds: float) -> None:
        """Push every future slot back: the server asked us to wait ``seconds``."""
        self.tat = max(self.tat, now + seconds + (self.burst - 1) * self.interval)
