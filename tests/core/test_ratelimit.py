from __future__ import annotations

import pytest

from hoverbentley._core.ratelimit import Gcra


def test_requests_are_spaced_at_the_rate_after_the_burst() -> None:
    gcra = Gcra(rate=2.0, burst=3)  # 2 per second
    waits = [gcra.reserve(100.0) for _ in range(6)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3:] == pytest.approx([0.5, 1.0, 1.5])


def test_idle_time_refills_the_burst_but_no_more() -> None:
    gcra = Gcra(rate=1.0, burst=2)
    for _ in range(2):
        gcra.reserve(0.0)
    assert gcra.reserve(60.0) == 0.0
    assert gcra.reserve(60.0) == 0.0
    assert gcra.reserve(60.0) == pytest.approx(1.0)


def test_pause_holds_back_later_requests() -> None:
    gcra = Gcra(rate=10.0, burst=1)
    gcra.pause(0.0, 5.0)
    assert gcra.reserve(0.0) == pytest.approx(5.0)


def test_invalid_settings() -> None:
    with pytest.raises(ValueError, match="rate"):
        Gcra(rate=0)
    with pytest.raises(ValueError, match="burst"):
        Gcra(rate=1, burst=0)
