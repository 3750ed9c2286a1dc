"""Pure scheduling decisions: feed and HTTP hints, the adaptive interval, the record after a
poll (410 Gone, permanent moves, Retry-After only on 429/503), staleness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.fetch import Validators
from ingest.kinds import ErrorKind
from ingest.records import Plan, Polled, after_poll, decode_history, is_stale
from ingest.schedule import (
    Bounds,
    adapt_interval,
    feed_hint_seconds,
    http_hint_seconds,
    success_delay,
)
from ingest.state import FeedRecord

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
PLAN = Plan(base=300.0, bounds=Bounds(60.0, 6 * 3600.0))
OK = Polled(http_status=200, validators=Validators('"e"', None, "h"), listed=10)


@pytest.mark.parametrize(
    ("ttl", "period", "freq", "expect"),
    [
        ("30", None, None, 1800.0),
        (None, "hourly", "2", 1800.0),
        (None, "daily", None, 86400.0),
        ("90", "hourly", "1", 5400.0),
        ("soon", "fortnightly", "x", None),
        (None, None, None, None),
        (None, "Hourly", "x", 3600.0),
        ("0", None, None, None),
    ],
)
def test_feed_hints(ttl: str | None, period: str | None, freq: str | None, expect: float) -> None:
    assert feed_hint_seconds(ttl, period, freq) == expect


def test_http_hints() -> None:
    assert http_hint_seconds({"cache-control": "public, max-age=900"}, NOW) == 900.0
    assert http_hint_seconds({"cache-control": "no-cache, max-age=900"}, NOW) is None
    expires = {"expires": "Mon, 02 Jun 2025 12:10:00 GMT", "date": "Mon, 02 Jun 2025 12:00:00 GMT"}
    assert http_hint_seconds(expires, NOW) == 600.0
    assert http_hint_seconds({"expires": "Mon, 02 Jun 2025 12:30:00 GMT"}, NOW) == 1800.0
    assert http_hint_seconds({"expires": "0"}, NOW) is None
    assert http_hint_seconds({}, NOW) is None


def test_hint_is_a_floor_capped_by_the_upper_bound() -> None:
    assert success_delay(300, None, 3600) == 300
    assert success_delay(300, 60, 3600) == 300
    assert success_delay(300, 1800, 3600) == 1800
    assert success_delay(300, 7 * 86400, 3600) == 3600


def test_adaptive_interval_speeds_up_slows_down_and_stays_in_bounds() -> None:
    assert adapt_interval(300, [(8, 10)], 60, 3600) == pytest.approx(201)
    assert adapt_interval(300, [(1, 10), (2, 10)], 60, 3600) == 300  # some new: keep
    assert adapt_interval(300, [(0, 10), (0, 0), (0, 10)], 60, 3600) == 450
    assert adapt_interval(70, [(10, 10)], 60, 3600) == 60
    assert adapt_interval(3000, [(0, 0)] * 5, 60, 3600) == 3600
    assert adapt_interval(300, [(0, 10), (0, 10)], 60, 3600) == 300  # too few polls to judge


def test_operator_interval_always_inside_the_bounds() -> None:
    assert Bounds(60, 3600).around(2) == (2, 3600)
    assert Bounds(60, 3600).around(86400) == (60, 86400)


def test_first_success_is_not_a_signal_later_ones_adapt() -> None:
    first = after_poll(FeedRecord("u"), OK, NOW, PLAN)
    assert (first.interval, first.history, first.next_poll) == (300, None, NOW + timedelta(0, 300))
    busy = Polled(http_status=200, new_items=9, listed=10)
    second = after_poll(first, busy, NOW, PLAN)
    assert second.interval == pytest.approx(201) and decode_history(second.history) == [(9, 10)]
    assert second.last_new == NOW and second.items_seen == 9


def test_quiet_feed_slows_down_to_the_bound() -> None:
    record = after_poll(FeedRecord("u"), OK, NOW, PLAN)
    quiet = Polled(http_status=304, not_modified=True)
    for _ in range(40):
        record = after_poll(record, quiet, NOW, PLAN)
    assert record.interval == 6 * 3600 and record.etag == '"e"'
    assert len(decode_history(record.history)) == 5


def test_hints_delay_the_next_poll() -> None:
    polled = Polled(http_status=200, hint_seconds=1800, listed=1)
    assert after_poll(FeedRecord("u"), polled, NOW, PLAN).next_poll == NOW + timedelta(0, 1800)


def test_gone_stops_polling_visibly() -> None:
    gone = after_poll(FeedRecord("u"), Polled(ErrorKind.GONE, "HTTP 410", 410), NOW, PLAN)
    assert gone.gone and gone.next_poll is None and gone.error_kind == "gone"
    back = after_poll(gone, OK, NOW, PLAN)
    assert not back.gone


def test_permanent_move_recorded_and_kept() -> None:
    moved = after_poll(FeedRecord("u"), Polled(http_status=200, moved_to="https://n/"), NOW, PLAN)
    assert moved.moved_to == "https://n/"
    assert after_poll(moved, OK, NOW, PLAN).moved_to == "https://n/"


@pytest.mark.parametrize(
    ("status", "kind", "honoured"),
    [
        (429, ErrorKind.RATE_LIMITED, True),
        (503, ErrorKind.HTTP_5XX, True),
        (500, ErrorKind.HTTP_5XX, False),
        (404, ErrorKind.HTTP_4XX, False),
    ],
)
def test_retry_after_only_on_429_and_503(status: int, kind: ErrorKind, honoured: bool) -> None:
    polled = Polled(kind, f"HTTP {status}", status, retry_after=5000)
    record = after_poll(FeedRecord("u"), polled, NOW, PLAN)
    assert record.next_poll is not None
    assert (record.next_poll == NOW + timedelta(seconds=5000)) is honoured


def test_failures_weighted_light_before_heavy() -> None:
    light = after_poll(FeedRecord("u"), Polled(ErrorKind.TIMEOUT), NOW, PLAN)
    heavy = after_poll(FeedRecord("u"), Polled(ErrorKind.PARSE), NOW, PLAN)
    assert light.next_poll is not None and heavy.next_poll is not None
    assert light.next_poll < heavy.next_poll


def test_stale() -> None:
    record = FeedRecord("u", last_new=NOW - timedelta(hours=5), interval=600)
    assert is_stale(record, 300, 8, NOW)  # 5 h > 8 × 10 min
    assert not is_stale(record, 3600, 8, NOW)
    assert not is_stale(FeedRecord("u"), 300, 8, NOW)
    assert not is_stale(FeedRecord("u", last_new=NOW - timedelta(days=9), gone=True), 1, 8, NOW)
