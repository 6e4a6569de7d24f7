from __future__ import annotations

import random
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from hoverbentley._core.retry import RetryPolicy, parse_retry_after

NOW = 1_750_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), ("0", 0.0), (" 1.5 ", 1.5), ("-4", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_http_date() -> None:
    when = datetime.fromtimestamp(NOW + 42, tz=timezone.utc)
    assert parse_retry_after(format_datetime(when, usegmt=True), NOW) == pytest.approx(42)
    past = datetime.fromtimestamp(NOW - 42, tz=timezone.utc)
    assert parse_retry_after(format_datetime(past, usegmt=True), NOW) == 0.0


@pytest.mark.parametrize(
    ("method", "status", "retry"),
    [
        ("GET", 408, True),
        ("GET", 429, True),
        ("GET", 500, True),
        ("GET", 503, True),
        ("GET", 599, True),
        ("GET", 400, False),
        ("GET", 401, False),
        ("GET", 404, False),
        ("GET", 422, False),
        ("POST", 500, False),
        ("POST", 429, True),
        ("PATCH", 503, False),
        ("DELETE", 502, True),
    ],
)
def test_retry_status(method: str, status: int, retry: bool) -> None:
    assert RetryPolicy().retry_status(method, status) is retry


def test_connection_errors_retry_post_only_before_sending() -> None:
    policy = RetryPolicy()
    assert policy.retry_error("POST", sent=False)
    assert not policy.retry_error("POST", sent=True)
    assert policy.retry_error("GET", sent=True)


def test_backoff_is_capped_exponential_with_jitter() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0)
    rng = random.Random(1)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0)]:
        delays = [policy.backoff(attempt, rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2
        assert max(delays) <= ceiling
        assert len(set(delays)) > 100  # jittered, not a constant


def test_delay_prefers_retry_after_up_to_a_ceiling() -> None:
    policy = RetryPolicy(retry_after_max=30.0)
    assert policy.delay(0, "7", now=NOW) == 7.0
    assert policy.delay(0, "3600", now=NOW) == 30.0
    assert 0 < policy.delay(0, None, now=NOW) <= policy.backoff_base


def test_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_retries=2)
    assert [policy.can_retry(a) for a in range(4)] == [True, True, False, False]
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


def test_body_retries_are_bounded_by_count_and_by_time() -> None:
    policy = RetryPolicy(max_retries=2, backoff_base=1.0, backoff_max=1.0, retry_for=10.0)
    first = policy.body_retry(1, spent=0.0)
    assert first is not None and 0.5 <= first <= 1.0
    assert policy.body_retry(2, spent=0.0) is not None
    assert policy.body_retry(3, spent=0.0) is None  # two retries spent
    assert policy.body_retry(1, spent=9.5) is None  # the wait would outlast retry_for
