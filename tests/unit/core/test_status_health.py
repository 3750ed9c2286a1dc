"""``newsmon status`` shows the feed-health alerts still open and the ingest gauge (pure)."""

from __future__ import annotations

from newsmon.status import open_health, parse_metrics, render, service_summary

METRICS = """\
# TYPE newsmon_ingest_feed_health gauge
newsmon_ingest_feed_health{signal="challenge"} 1.0
newsmon_ingest_feed_health{signal="silent"} 2.0
newsmon_ingest_feed_health{signal="html"} 0.0
"""


def entry(feed: str, signal: str, since: str, **extra: object) -> dict[str, object]:
    return {
        "kind": "health",
        "state": "problem",
        "feed": f"https://{feed}/rss",
        "feed_name": feed,
        "signal": signal,
        "since": since,
        "detail": f"{signal}!",
        **extra,
    }


def test_open_health_lists_unresolved_operator_alerts_once() -> None:
    entries = [
        entry("b.org", "silent", "2025-06-02T10:00:00+00:00"),
        entry("a.org", "challenge", "2025-06-01T10:00:00+00:00"),
        entry("a.org", "challenge", "2025-06-01T10:00:00+00:00", copy=True),
        entry("c.org", "html", "2025-06-01T09:00:00+00:00", resolved="2025-06-01T11:00:00"),
        {"kind": "alert", "status": "sent"},
    ]
    assert [(h["feed_name"], h["signal"]) for h in open_health(entries)] == [
        ("a.org", "challenge"),
        ("b.org", "silent"),
    ]


def test_status_renders_feed_health() -> None:
    summary = service_summary("ingest", parse_metrics(METRICS), now=0.0)
    assert summary["feed_health"] == {"challenge": 1, "silent": 2}
    report = {
        "healthy": True,
        "services": {"ingest": {"reachable": True, "ready": True, "backing_off": False, **summary}},
        "kafka": {"skipped": "not a Kafka bus"},
        "store": {
            "articles": 3,
            "alerts": {"sent": 1},
            "feed_health": open_health([entry("a.org", "challenge", "2025-06-01")]),
        },
    }
    text = render(report)
    assert "feed_health=challenge:1,silent:2" in text
    assert "  feed     a.org: challenge since 2025-06-01: challenge!" in text
