"""Feed health end to end on loopback (no Kafka needed): feed servers that go silent, answer
403 with a Cloudflare challenge page, serve an HTML page, or repeat one link for every item,
beside healthy feeds. The poller detects each within two poll intervals and publishes the
change on the bus; the alert stage routes it to the operator's webhook (a loopback receiver):
one alert per broken feed, none for the healthy ones, over the same run. ``feeds status``
shows the signals.
"""

from __future__ import annotations

import http.server
import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alert.channels import WebhookChannel
from alert.rules import Rule
from alert.stage import AlertStage
from ingest.poller import FeedPoller
from ingest.state import STATE_FILE
from newsmon.bus import HEALTH_TOPIC, MemoryBus
from newsmon.config import FeedConfig, IngestSettings, Settings
from newsmon.feedstatus import status_rows
from newsmon.query import compile_query
from newsmon.runtime import drain
from newsmon.store import MemoryStore
from tests.unit.ingest.feedserver import FeedServer, rss, running_server, send

T0 = datetime(2025, 6, 2, tzinfo=UTC)
INTERVAL = timedelta(minutes=30)
HISTORY_POLLS = 52  # a day and more of a new item every poll: silence can be judged
BROKEN_AT = HISTORY_POLLS  # the poll from which the broken feeds misbehave
POLLS = HISTORY_POLLS + 8
CHALLENGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    b"<script>window._cf_chl_opt={cType: 'managed'};</script>"
    b"<noscript>Enable JavaScript and cookies to continue</noscript></body></html>"
)
PAGE = b"<!doctype html><html><head><title>Example News</title></head><body>Hi</body></html>"


class Feed:
    """A feed that gains an item at every request until it breaks in its own way."""

    def __init__(self, name: str, breaks: str | None) -> None:
        self.name, self.breaks = name, breaks
        self.items: list[tuple[str, str]] = []
        self.broken = False

    def __call__(self, h: http.server.BaseHTTPRequestHandler) -> None:
        if self.broken and self.breaks == "challenge":
            headers = {
                "Content-Type": "text/html; charset=UTF-8",
                "Server": "cloudflare",
                "cf-mitigated": "challenge",
            }
            send(h, 403, CHALLENGE, headers)
            return
        if self.broken and self.breaks == "html":
            send(h, 200, PAGE, {"Content-Type": "text/html"})
            return
        if self.broken and self.breaks == "same_link":
            n = len(self.items)
            same = [
                (f"{self.name} notice {n}-{i}", "https://example.org/consent") for i in range(5)
            ]
            send(h, 200, rss(same, title=self.name))
            return
        if not (self.broken and self.breaks == "silent"):
            n = len(self.items)
            self.items.insert(0, (f"{self.name} item {n}", f"https://{self.name}.example/{n}"))
        send(h, 200, rss(self.items[:20], title=self.name))


class Receiver:
    """The operator's webhook endpoint on loopback."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length", "0"))
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def feeds() -> Iterator[tuple[FeedServer, dict[str, Feed]]]:
    names = {
        "good1": None,
        "good2": None,
        "silent": "silent",
        "challenge": "challenge",
        "html": "html",
        "samelink": "same_link",
    }
    with running_server() as server:
        made = {name: Feed(name, breaks) for name, breaks in names.items()}
        for name, feed in made.items():
            server.routes[f"/{name}"] = feed
        yield server, made


def test_broken_feeds_reach_the_operator_once_each_and_healthy_ones_never(
    feeds: tuple[FeedServer, dict[str, Feed]], receiver: Receiver, tmp_path: Any
) -> None:
    server, made = feeds
    settings = Settings(
        data_dir=tmp_path,
        fetch_timeout=2.0,
        poll_interval=INTERVAL.total_seconds(),
        ingest=IngestSettings(
            host_spacing=0.0, host_concurrency=8, full_text_min_chars=0, full_text_per_poll=0
        ),
    )
    configs = [FeedConfig(url=server.url(f"/{n}"), name=n) for n in made]  # type: ignore[arg-type]
    bus = MemoryBus()
    poller = FeedPoller(
        configs, bus, settings.data_dir / STATE_FILE, settings, rng=random.Random(1)
    )
    operator = WebhookChannel(receiver.url, attempts=1, timeout=5.0)
    rule = Rule("operator", "", compile_query("*:*"), (operator,), kind="health")
    stage = AlertStage(MemoryStore(), [rule])
    consumer = bus.consumer("newsmon-alert", [HEALTH_TOPIC])
    alerted_at: dict[str, int] = {}
    for poll in range(POLLS):
        if poll == BROKEN_AT:
            for feed in made.values():
                feed.broken = feed.breaks is not None
        poller.poll_all(T0 + poll * INTERVAL)
        drain(stage, bus, consumer)
        for body in receiver.bodies:
            alerted_at.setdefault(body["source"], poll)
    poller.close()

    by_feed = {}
    for body in receiver.bodies:
        by_feed.setdefault(body["source"], []).append(body)
    assert sorted(by_feed) == ["challenge", "html", "samelink", "silent"]  # no healthy feed
    assert all(len(bodies) == 1 for bodies in by_feed.values()), by_feed
    signals = {name: bodies[0]["signal"] for name, bodies in by_feed.items()}
    assert signals == {
        "challenge": "challenge",
        "html": "html",
        "samelink": "same_link",
        "silent": "silent",
    }
    assert "Cloudflare" in by_feed["challenge"][0]["detail"]
    assert by_feed["challenge"][0]["http_status"] == 403
    for name in ("challenge", "html", "samelink"):
        assert alerted_at[name] - BROKEN_AT < 2, (name, alerted_at)  # within two polls
    # silent: the last new item came at poll BROKEN_AT - 1; the threshold is 3 x its usual gap
    threshold_poll = BROKEN_AT - 1 + settings.ingest.silence_factor
    assert 0 < alerted_at["silent"] - threshold_poll <= 2, alerted_at
    for body in receiver.bodies:  # the webhook contract holds for operator alerts
        assert {
            "rule",
            "story_id",
            "article_id",
            "title",
            "url",
            "published",
            "matched",
            "actors",
        } <= set(body)

    rows = {
        row["url"].rsplit("/", 1)[1]: row for row in status_rows(settings, T0 + POLLS * INTERVAL)
    }
    assert set(rows["challenge"]["health"]) == {"challenge"}
    assert set(rows["silent"]["health"]) == {"silent"}
    assert rows["good1"]["health"] == {} and rows["good2"]["health"] == {}
