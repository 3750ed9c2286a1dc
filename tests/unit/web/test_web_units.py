"""The page's pure parts: query checks and composition, paging, charts, escaping, sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from newsmon.query import compile_query
from web.queries import check, field_is, period_range, refine, with_since
from web.security import Guard, same_origin
from web.views import (
    RESULT_WINDOW,
    ago,
    chart,
    csv_cell,
    highlight,
    pager,
    period_for,
    redact_url,
    series,
    sparkline,
)

T0 = datetime(2025, 5, 10, tzinfo=UTC)


def test_check_reports_the_column_and_strips_the_position_suffix() -> None:
    problem = check("ceasefire AND (")
    assert problem is not None and problem.column == 15
    assert problem.message == "syntax error: unexpected end of query"
    assert problem.caret == " " * 15 + "^"
    tabbed = check("a\tAND AND b")
    assert tabbed is not None and tabbed.caret == " \t    ^"
    assert check("") is None and check("ceasefire") is None
    long = check("x" * 4001)
    assert long is not None and long.column is None and "4,001 characters" in long.message


@pytest.mark.parametrize("value", ['Jean "Le Chef" Dupont', "back\\slash", "a:b (c) AND d*", "é"])
def test_field_is_selects_exactly_that_value(value: str) -> None:
    matcher = compile_query(field_is("actor", value))
    assert matcher.matches({"actor": [value]})
    assert matcher.matches({"actor": [value.upper()]})  # keyword fields are lower-cased
    assert not matcher.matches({"actor": [value + "x"]})


def test_refine_and_since_compose_like_the_cli() -> None:
    from newsmon.query.compose import compose_query

    assert refine("", 'topic:"x"') == 'topic:"x"' == refine("*:*", 'topic:"x"')
    assert refine("a OR b", 'topic:"x"') == '(a OR b) AND topic:"x"'
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)
    assert with_since("ceasefire", "7d", now) == compose_query(
        "ceasefire", since=now - timedelta(days=7)
    )
    assert with_since("", "", now) == "*:*"


def test_period_range_is_half_open() -> None:
    matcher = compile_query(period_range(T0, "week"))
    assert matcher.matches({"published": "2025-05-10T00:00:00Z"})
    assert matcher.matches({"published": "2025-05-16T23:59:59Z"})
    assert not matcher.matches({"published": "2025-05-17T00:00:00Z"})


def test_pager_clamps_untrusted_parameters() -> None:
    assert pager("3", "50", 1000).offset == 100
    assert pager("x", "7", 1000).per == 20 and pager("x", "7", 1000).page == 1
    assert pager("999", "20", 45).page == 3 and pager("0", None, 45).page == 1
    deep = pager("10000", "100", 50_000)
    assert deep.capped and deep.page == RESULT_WINDOW // 100
    assert pager("6", "20", 400).window() == [1, None, 4, 5, 6, 7, 8, None, 20]
    assert pager("1", "20", 0).window() == [1] and pager("1", "20", 0).first == 0


def test_chart_periods_and_series() -> None:
    assert period_for(T0, T0 + timedelta(days=2)) == "hour"
    assert period_for(T0, T0 + timedelta(days=90)) == "day"
    assert period_for(T0, T0 + timedelta(days=365)) == "week"
    assert period_for(T0, T0 + timedelta(days=120)) == "week"
    assert period_for(T0, T0 + timedelta(days=600)) == "month"
    days = [(T0, 2), (T0 + timedelta(days=3), 1), (T0 + timedelta(days=9), 4)]
    weekly = series(days, "week")  # 2025-05-10 is a Saturday: weeks start 05-05, 05-12, 05-19
    assert [(t.day, n) for t, n in weekly] == [(5, 2), (12, 1), (19, 4)]
    daily = series(days, "day")
    assert len(daily) == 10 and sum(n for _, n in daily) == 7
    grown = chart(weekly, "week", "so far", cumulative=True)
    assert grown["y"] == [2, 3, 7] and grown["bars"] is False
    assert grown["x"][0] == int(datetime(2025, 5, 5, tzinfo=UTC).timestamp())


def test_sparkline_and_highlight_are_safe_markup() -> None:
    svg = str(sparkline([(date(2025, 5, 1), 1), (date(2025, 5, 3), 4)]))
    assert svg.count("<rect") == 2 and "2025-05-03: 4" in svg
    assert str(sparkline([])) == ""
    marked = str(highlight("<b>x</b> <em>ceasefire</em> & <script>"))
    assert marked == "&lt;b&gt;x&lt;/b&gt; <em>ceasefire</em> &amp; &lt;script&gt;"


def test_small_formatters() -> None:
    now = T0
    assert ago(now - timedelta(minutes=5), now) == "5 min ago"
    assert ago(now + timedelta(hours=3), now) == "in 3 h"
    assert ago(None, now) == "never" and ago(now - timedelta(days=2), now) == "2 d ago"
    assert csv_cell("=1+1") == "'=1+1" and csv_cell(["a", "b"]) == "a; b"
    assert csv_cell(None) == "" and csv_cell(-3) == "'-3" and csv_cell("ok") == "ok"
    assert redact_url("https://user:pw@es.example:9200/x") == "https://es.example:9200/x"
    assert redact_url("sqlite:///tmp/n.db") == "sqlite:///tmp/n.db"


def test_sessions_expire_and_resist_tampering() -> None:
    guard = Guard("token")
    cookie = guard.new_session(1000.0)
    assert guard.session_valid(cookie, 1001.0)
    assert not guard.session_valid(cookie, 1000.0 + 13 * 3600)
    expiry, nonce, sig = cookie.split(".")
    assert not guard.session_valid(f"{int(expiry) + 99999}.{nonce}.{sig}", 1001.0)
    assert not Guard("token").session_valid(cookie, 1001.0)  # another process's key
    assert not Guard(None).session_valid(cookie, 1001.0)
    assert guard.csrf_valid(cookie, guard.csrf_token(cookie))
    assert not guard.csrf_valid(cookie, guard.csrf_token(guard.new_session(1000.0)))
    assert not guard.csrf_valid(None, "x") and not guard.csrf_valid(cookie, None)


def test_token_attempts_are_limited() -> None:
    guard = Guard("token")
    assert guard.token_matches("token", now=0.0)
    for _ in range(10):
        assert not guard.token_matches("nope", now=1.0)
    assert not guard.token_matches("token", now=2.0) and guard.rate_limited(now=2.0)
    assert guard.token_matches("token", now=100.0)  # the window passed
    assert not Guard(None).token_matches("", now=0.0)


def test_same_origin() -> None:
    own = {"host": "127.0.0.1:9460"}
    assert same_origin({**own, "origin": "http://127.0.0.1:9460"}, "http")
    assert not same_origin({**own, "origin": "http://127.0.0.1:9461"}, "http")
    assert not same_origin({**own, "origin": "null"}, "http")
    assert same_origin({**own, "referer": "http://127.0.0.1:9460/alerts"}, "http")
    assert not same_origin({**own, "referer": "https://evil.example/x"}, "http")
    assert same_origin(own, "http")  # not a browser
