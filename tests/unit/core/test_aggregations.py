"""Rolling day buckets up into weeks and months, and filling gaps, as charts need them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsmon.aggregations import (
    aggregate_docs,
    bucket_start,
    check_request,
    filled,
    next_period,
    period_start,
    roll_up,
)
from newsmon.query import QueryError


def d(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    days = [(d("2025-01-30"), 1), (d("2025-02-02"), 2), (d("2025-02-03"), 4), (d("2025-12-31"), 8)]
    assert roll_up(days, "week") == [
        (d("2025-01-27"), 3),
        (d("2025-02-03"), 4),
        (d("2025-12-29"), 8),
    ]
    assert roll_up(days, "month") == [
        (d("2025-01-01"), 1),
        (d("2025-02-01"), 6),
        (d("2025-12-01"), 8),
    ]
    assert next_period(d("2025-12-01"), "month") == d("2026-01-01")
    assert period_start(d("2025-02-02T13:45:00"), "hour") == d("2025-02-02T13:00:00")


def test_filled_series_has_every_period() -> None:
    months = filled([(d("2025-11-01"), 2), (d("2026-02-01"), 1)], "month")
    assert [(t.month, n) for t, n in months] == [(11, 2), (12, 0), (1, 0), (2, 1)]
    assert filled([], "day") == []


def test_buckets_before_1970_floor() -> None:
    assert bucket_start(-1, "day") == -86_400_000
    assert bucket_start(3_600_000 * 5 + 7, "hour") == 3_600_000 * 5


def test_requests_no_store_can_answer_are_refused() -> None:
    with pytest.raises(QueryError, match="no facet 'colour'"):
        check_request({"colour": 5}, None)
    with pytest.raises(QueryError, match="size must be at least 1"):
        check_request({"actor": 0}, None)
    with pytest.raises(QueryError, match="hour or day"):
        check_request(None, "week")
    with pytest.raises(QueryError):
        aggregate_docs([], terms={"colour": 1})
