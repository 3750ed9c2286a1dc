"""The pure poll schedule: interval, back-off by failure kind, Retry-After, jitter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.kinds import ErrorKind
from ingest.schedule import HEAVY_CAP, LIGHT_CAP, backoff_seconds, next_poll

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def test_success_waits_one_interval() -> None:
    assert next_poll(NOW, 300) == NOW + timedelta(seconds=300)


@pytest.mark.parametrize("jitter", [-1.0, -0.5, 0.0, 0.5, 1.0, 7.0])
def test_jitter_stays_within_ten_percent(jitter: float) -> None:
    delay = (next_poll(NOW, 300, jitter=jitter) - NOW).total_seconds()
    assert 270 <= delay <= 330


def test_light_failures_back_off_gently_and_cap_at_an_hour() -> None:
    delays = [backoff_seconds(300, n, ErrorKind.TIMEOUT) for n in range(1, 8)]
    assert delays[:4] == [300, 600, 1200, 2400]
    assert max(delays) == LIGHT_CAP


def test_heavy_failures_back_off_harder_and_cap_at_six_hours() -> None:
    assert backoff_seconds(300, 1, ErrorKind.HTTP_4XX) == 600
    assert backoff_seconds(300, 1, ErrorKind.PARSE) > backoff_seconds(300, 1, ErrorKind.HTTP_5XX)
    assert backoff_seconds(300, 50, ErrorKind.GONE) == HEAVY_CAP


def test_backoff_never_shorter_than_interval() -> None:
    assert backoff_seconds(8 * 3600, 3, ErrorKind.TIMEOUT) == 8 * 3600


def test_retry_after_is_honoured_but_bounded() -> None:
    when = next_poll(NOW, 60, failures=1, kind=ErrorKind.RATE_LIMITED, retry_after=900)
    assert when == NOW + timedelta(seconds=900)
    short = next_poll(NOW, 600, failures=1, kind=ErrorKind.HTTP_5XX, retry_after=1)
    assert short == NOW + timedelta(seconds=600)
    huge = next_poll(NOW, 60, failures=1, kind=ErrorKind.RATE_LIMITED, retry_after=10**9)
    assert huge == NOW + timedelta(days=1)
