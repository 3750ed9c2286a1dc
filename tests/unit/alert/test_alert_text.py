"""Message templates, digest periods and webhook signatures (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest

from alert import templates
from alert.channels import sign, verify_signature
from alert.schedule import period_of, previous_period

KYIV = ZoneInfo("Europe/Kyiv")
PAYLOAD = {
    "kind": "alert", "rule": "talks", "title": "Putin <replies>", "source": "Wire",
    "published": "2025-05-11T09:30:00+00:00", "time": "2025-05-11 12:30 EEST",
    "url": "https://example.org/a", "matched": ["ceasefire"], "actors": ["Vladimir Putin"],
    "story_id": "s", "article_id": "a",
}


def test_time_is_shown_in_the_rules_time_zone() -> None:
    assert templates.local_time("2025-05-11T09:30:00+00:00", KYIV) == "2025-05-11 12:30 EEST"
    assert templates.local_time("2025-01-11T09:30:00Z", KYIV) == "2025-01-11 11:30 EET"
    assert templates.local_time(None, KYIV) == "?"


def test_text_message_carries_everything() -> None:
    text = templates.text_body(PAYLOAD)
    for part in ("Putin <replies>", "Wire · 2025-05-11 12:30 EEST", "https://example.org/a",
                 "Matched: ceasefire", "Actors: Vladimir Putin"):
        assert part in text
    assert "Kibana" not in text
    assert templates.subject(PAYLOAD) == "[newsmon] talks: Putin <replies>"
    assert templates.subject(PAYLOAD, "{source}/{rule}") == "Wire/talks"


def test_slack_message_escapes_and_links() -> None:
    msg = templates.slack_message({**PAYLOAD, "discover": "http://k/app/discover#/x"})
    assert msg["text"] == "[newsmon] talks: Putin <replies>"
    section = msg["blocks"][1]["text"]["text"]
    assert section == "*<https://example.org/a|Putin &lt;replies&gt;>*"
    assert "<http://k/app/discover#/x|Kibana>" in msg["blocks"][2]["elements"][0]["text"]


def test_discover_link_runs_the_query() -> None:
    link = templates.discover_link("http://kibana:5601/", "ceasefire AND story_id:\"s'1\"", None)
    assert link.startswith("http://kibana:5601/app/discover#/?_g=")
    assert "query:'ceasefire AND story_id:\"s!'1\"'" in unquote(link)


def test_hmac_signature_round_trip() -> None:
    body = b'{"rule":"talks"}'
    sig = sign("k", "1700000000", body)
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert verify_signature("k", body, "1700000000", sig, now=1700000100)
    assert not verify_signature("k", body + b" ", "1700000000", sig, now=1700000100)
    assert not verify_signature("other", body, "1700000000", sig, now=1700000100)
    assert not verify_signature("k", body, "1700000000", sig, now=1700009999), "stale"
    assert not verify_signature("k", body, "x", sig, now=1700000000)


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "when", "start", "end"),
    [
        ("hourly", utc(2025, 5, 11, 9, 30), utc(2025, 5, 11, 9), utc(2025, 5, 11, 10)),
        ("30m", utc(2025, 5, 11, 9, 45), utc(2025, 5, 11, 9, 30), utc(2025, 5, 11, 10)),
        # daily in Kyiv (UTC+3 in summer): local midnight is 21:00 UTC
        ("daily", utc(2025, 5, 11, 22), utc(2025, 5, 11, 21), utc(2025, 5, 12, 21)),
        ("daily 08:00", utc(2025, 5, 11, 4), utc(2025, 5, 10, 5), utc(2025, 5, 11, 5)),
        ("daily 08:00", utc(2025, 5, 11, 5), utc(2025, 5, 11, 5), utc(2025, 5, 12, 5)),
        # the day DST ends in Kyiv (26 Oct 2025) has 25 hours
        ("daily", utc(2025, 10, 26, 12), utc(2025, 10, 25, 21), utc(2025, 10, 26, 22)),
    ],
)
def test_digest_periods(schedule: str, when: datetime, start: datetime, end: datetime) -> None:
    period = period_of(schedule, KYIV, when)
    assert (period.start, period.end) == (start, end)
    assert previous_period(schedule, KYIV, when).end == start
