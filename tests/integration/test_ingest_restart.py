"""kill -9 the poller (``python -m newsmon ingest`` on real Kafka) mid-round, restart it:
no item is missed, and every copy of an article on the raw topic carries its article_id.

One feed stalls (its server holds the response) while the others are already published —
the poller publishes each feed as it completes — so the kill lands mid-round with part of the
round durable and part not. After the restart the stalled feed answers and its items arrive.
"""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from newsmon.bus import RAW_TOPIC
from newsmon.schema import RawArticle, article_id, decode
from tests.unit.ingest.feedserver import FeedServer, rss, running_server, send, static

pytestmark = pytest.mark.integration

FEEDS = ("a", "b", "c", "stall")


def items(feed: str, count: int = 5) -> list[tuple[str, str]]:
    return [(f"{feed} story {i}", f"https://{feed}.example.org/story/{i}") for i in range(count)]


class Stall:
    """Holds every request until released; then serves the feed."""

    def __init__(self, body: bytes) -> None:
        self.body, self.release, self.requested = body, threading.Event(), threading.Event()

    def __call__(self, h: http.server.BaseHTTPRequestHandler) -> None:
        self.requested.set()
        if not self.release.wait(120):
            return
        send(h, 200, self.body)


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "newsmon", "ingest"], env=env, stdout=out, stderr=out
    )


def test_kill_9_mid_round_then_restart_misses_nothing(
    services: Any, unique: str, tmp_path: Path
) -> None:
    from newsmon.adapters.kafka_bus import KafkaBus

    namespace = f"t{unique}-"
    with running_server() as server:
        server_routes(server)
        stall = Stall(rss(items("stall")))
        server.routes["/stall"] = stall
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text("".join(f"- url: {server.url('/' + f)}\n  interval: 2\n" for f in FEEDS))
        env = {
            **os.environ,
            "NEWSMON_BUS": services.bus,
            "NEWSMON_NAMESPACE": namespace,
            "NEWSMON_FEEDS": str(feeds),
            "NEWSMON_DATA_DIR": str(tmp_path / "data"),
            "NEWSMON_FETCH_TIMEOUT": "60",
            "NEWSMON_METRICS_PORT": "0",
            "NEWSMON_INGEST__HOST_SPACING": "0",
            "NEWSMON_INGEST__HOST_CONCURRENCY": "8",
            "NEWSMON_INGEST__FULL_TEXT_MIN_CHARS": "0",
            "NEWSMON_LOG_FORMAT": "text",
        }
        bus = KafkaBus(services.bus, prefix=namespace)
        bus.ensure_topics()
        consumer = bus.consumer("restart-check", [RAW_TOPIC])
        seen: list[tuple[str | None, RawArticle]] = []

        def collect() -> set[str]:
            for record in consumer.poll(500, timeout=0.5):
                seen.append((record.key, decode(RawArticle, record.value)))
            return {a.article_id for _, a in seen}

        expected_first = {article_id(u) for f in ("a", "b", "c") for _, u in items(f)}
        poller = start(env, tmp_path / "ingest.log")
        try:
            wait_for(
                lambda: expected_first <= collect() and stall.requested.is_set(),
                90,
                "the non-stalled feeds to be published while one feed stalls",
            )
            os.kill(poller.pid, signal.SIGKILL)  # mid-round: the stalled feed is in flight
            poller.wait(10)
            stall.release.set()
            every = expected_first | {article_id(u) for _, u in items("stall")}
            poller = start(env, tmp_path / "ingest.log")
            wait_for(lambda: every <= collect(), 90, "every item after the restart")
        finally:
            poller.send_signal(signal.SIGTERM)
            try:
                poller.wait(30)
            except subprocess.TimeoutExpired:
                poller.kill()
            consumer.close()
            bus.close()
        log = (tmp_path / "ingest.log").read_text(errors="replace")[-3000:]
        assert every <= {a.article_id for _, a in seen}, log
        for key, article in seen:  # a re-published copy carries the same id (= Kafka key)
            assert key == article.article_id == article_id(article.url)


def server_routes(server: FeedServer) -> None:
    for feed in ("a", "b", "c"):
        server.routes[f"/{feed}"] = static(rss(items(feed)))
