"""Feed health (pure): what a response is when it is not a feed, and the signals' lifecycle."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ingest.health import (
    Observation,
    Sniff,
    assess,
    gaps_of,
    looks_like_html,
    signals_of,
    sniff,
    unannounced,
)
from ingest.state import FeedRecord
from newsmon.config import IngestSettings

NOW = datetime(2025, 6, 2, 12, tzinfo=UTC)
TUNING = IngestSettings(silence_min_history=3600.0)
CLOUDFLARE = (
    b'<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    b'<meta http-equiv="refresh" content="390"></head><body><script>'
    b"window._cf_chl_opt={cvId: '3'};</script></body></html>"
)
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (403, {}, CLOUDFLARE, Sniff("challenge", "Cloudflare interstitial page (HTTP 403)")),
        (
            503,
            {"cf-mitigated": "challenge"},
            b"",
            Sniff("challenge", "Cloudflare challenge (HTTP 503)"),
        ),
        (200, {}, CLOUDFLARE, Sniff("challenge", "Cloudflare interstitial page (HTTP 200)")),
        (
            403,
            {"x-datadome": "protected"},
            b"<html></html>",
            Sniff("challenge", "DataDome challenge (HTTP 403)"),
        ),
        (
            403,
            {},
            b"<html><script src='https://ct.captcha-delivery.com/c.js'>",
            Sniff("challenge", "DataDome interstitial page (HTTP 403)"),
        ),
        (
            429,
            {},
            b"<html><body><div class='g-recaptcha'></div></body></html>",
            Sniff("challenge", "a CAPTCHA interstitial page (HTTP 429)"),
        ),
        (
            200,
            {},
            b"\xef\xbb\xbf\n<!-- hi -->\n<!doctype html><html><body>Welcome</body></html>",
            Sniff("html", "a web page instead of a feed (HTTP 200)"),
        ),
        (200, {"content-type": "text/html"}, RSS, None),  # a feed served as text/html is a feed
        (200, {}, RSS.replace(b"<title>x", b"<title>solve the captcha to win"), None),
        (429, {}, b"slow down", None),
        (404, {}, b"<html><body>Not found</body></html>", None),
        (None, {}, CLOUDFLARE, None),
    ],
)
def test_sniff(
    status: int | None, headers: dict[str, str], body: bytes, expected: Sniff | None
) -> None:
    assert sniff(status, headers, body) == expected


def test_html_root_detection_reads_past_the_prolog() -> None:
    assert looks_like_html(b"  <?xml version='1.0'?><html xmlns='x'>")
    assert not looks_like_html(b"<feed xmlns='http://www.w3.org/2005/Atom'><title>html</title>")


def polled(
    before: FeedRecord, when: datetime, new: bool, seen: Observation
) -> tuple[FeedRecord, list[str]]:
    """One poll: the record after_poll would make (only what health reads), then assess."""
    after = replace(before, last_polled=when, last_new=when if new else before.last_new)
    record, changes = assess(before, after, seen, when, TUNING)
    return record, [f"{c.signal}:{c.state}" for c in changes]


OK = Observation(http_status=200, ok=True, linked=10, links=10)


def history(polls: int, gap: timedelta = timedelta(minutes=30)) -> tuple[FeedRecord, datetime]:
    record, when = FeedRecord("https://f.example/rss"), NOW
    for _ in range(polls):
        record, changes = polled(record, when, True, OK)
        assert changes == []
        when += gap
    return record, when


def test_silence_is_judged_against_the_feeds_own_gaps() -> None:
    record, when = history(8)
    gaps = gaps_of(record)
    assert (gaps.since, gaps.count, gaps.usual) == (NOW, 7, 1800.0)
    for _ in range(3):  # three polls without a new item: 90 minutes, within 3 x 30
        record, changes = polled(record, when, False, OK)
        assert changes == []
        when += timedelta(minutes=30)
    record, changes = polled(record, when, False, OK)  # 120 minutes > 3 x 30
    assert changes == ["silent:problem"]
    assert "no new item since 2025-06-02T15:30" in signals_of(record)["silent"]["detail"]
    record, changes = polled(record, when + timedelta(minutes=30), False, OK)
    assert changes == []  # still silent: no second change
    record, changes = polled(record, when + timedelta(hours=1), True, OK)
    assert changes == ["silent:resolved"] and record.health is None


def test_the_longest_gap_of_the_last_days_is_remembered_so_nights_are_not_silence() -> None:
    record, when = history(8)
    night = when + timedelta(hours=8)  # the feed rests 8 hours, then is busy again
    record, _ = polled(record, night, True, OK)
    record, when = history_from(record, night + timedelta(minutes=30), 30)
    assert gaps_of(record).usual == 8.5 * 3600
    record, changes = polled(record, when + timedelta(hours=10), False, OK)
    assert changes == []  # 10 hours: less than 3 x the night's gap


def history_from(record: FeedRecord, when: datetime, polls: int) -> tuple[FeedRecord, datetime]:
    for _ in range(polls):
        record, changes = polled(record, when, True, OK)
        when += timedelta(minutes=30)
    return record, when


def test_no_silence_without_enough_history() -> None:
    record, when = history(4)  # 3 gaps, fewer than silence_min_gaps
    record, changes = polled(record, when + timedelta(days=2), False, OK)
    assert changes == []
    young = IngestSettings(silence_min_history=86400.0)
    record, when = history(8)  # 3.5 hours of history, less than a day
    assert (
        assess(
            record,
            replace(record, last_polled=when + timedelta(days=1)),
            OK,
            when + timedelta(days=1),
            young,
        )[1]
        == []
    )


def test_a_challenge_is_one_poll_and_ends_with_a_good_poll_and_silence_stays_quiet() -> None:
    record, when = history(8)
    challenge = Observation(http_status=403, sniffed=Sniff("challenge", "Cloudflare (HTTP 403)"))
    record, changes = polled(record, when, False, challenge)
    assert changes == ["challenge:problem"] and record.denied == 1
    for i in range(1, 6):  # hours of 403s: still one signal, no "blocked", no "silent"
        record, changes = polled(record, when + timedelta(minutes=30 * i), False, challenge)
        assert changes == []
    plain = Observation(http_status=403)
    record, changes = polled(record, when + timedelta(hours=4), False, plain)
    assert changes == [] and set(signals_of(record)) == {"challenge"}
    record, changes = polled(record, when + timedelta(hours=5), True, OK)
    assert changes == ["challenge:resolved"] and record.denied == 0


def test_a_storm_of_403_or_429_is_blocked_after_storm_polls() -> None:
    record, when = history(3)
    record, changes = polled(record, when, False, Observation(http_status=429))
    assert changes == []
    record, changes = polled(record, when + timedelta(hours=1), False, Observation(http_status=403))
    assert changes == ["blocked:problem"]
    assert signals_of(record)["blocked"]["detail"] == "2 polls in a row answered HTTP 403"
    timeout = Observation(http_status=None)  # no answer at all: the storm is not over
    record, changes = polled(record, when + timedelta(hours=2), False, timeout)
    assert changes == [] and record.denied == 2


def test_html_and_same_link_and_gone() -> None:
    record, when = history(3)
    page = Observation(http_status=200, sniffed=Sniff("html", "a web page (HTTP 200)"))
    record, changes = polled(record, when, False, page)
    assert changes == ["html:problem"]
    record, changes = polled(record, when + timedelta(hours=1), False, OK)
    assert changes == ["html:resolved"]
    same = Observation(http_status=200, ok=True, linked=12, links=1)
    record, changes = polled(record, when + timedelta(hours=2), False, same)
    assert changes == ["same_link:problem"]
    assert signals_of(record)["same_link"]["detail"] == "all 12 items of the feed link to one page"
    unchanged = Observation(http_status=304, ok=True)  # nothing parsed: the signal stays
    record, changes = polled(record, when + timedelta(hours=3), False, unchanged)
    assert changes == []
    record, changes = polled(record, when + timedelta(hours=4), True, OK)
    assert changes == ["same_link:resolved"]
    gone = replace(record, gone=True)
    _, changes = assess(record, gone, Observation(http_status=410), when, TUNING)
    assert [f"{c.signal}:{c.state}" for c in changes] == ["gone:problem"]


def test_unannounced_changes_are_judged_again() -> None:
    old = FeedRecord("u", etag='"1"', body_hash="a", health=None)
    new = replace(old, etag='"2"', body_hash="b", health=json.dumps({"html": {}}), denied=3)
    kept = unannounced(old, new)
    assert (kept.etag, kept.body_hash, kept.health, kept.denied) == ('"1"', "a", None, 3)
