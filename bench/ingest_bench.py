"""Ingest benchmark: 500 local feeds polled for N rounds by FeedPoller vs the naive loop.

A separate server process serves 500 RSS feeds (20–100 KB, 25 loopback hosts 127.0.0.1–25, so
per-host politeness applies as it would in production). Between rounds a share of the feeds
gains one item (the rest are unchanged: half answer 304 to If-None-Match, half send no ETag
and are caught by the body hash). Measured in the same run:

- naive: ``for url in urls: feedparser.parse(url)`` (one pass over the 500 feeds);
- newsmon: ``FeedPoller.poll_all`` for one cold round (everything new) and N warm rounds.

Reported: feeds/s (wall clock) and CPU-seconds per poll (this process; the server's CPU is not
counted for either side), and the warm-round speed-up over the naive loop. The last line printed
is one JSON object.

    .venv/bin/python bench/ingest_bench.py [--feeds 500] [--rounds 5] [--changed 0.1]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HOSTS = 25
PORT = 18731
WORDS = ("ceasefire talks envoy delegation Istanbul Kyiv Moscow Brussels sanctions prisoner "
         "exchange summit minister statement negotiators frontline drones energy grid").split()


def _item(feed: int, n: int, rng: random.Random) -> str:
    when = datetime(2025, 6, 1, tzinfo=UTC) + timedelta(minutes=n)
    paragraphs = []
    for _ in range(rng.randint(4, 10)):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 45)))
        paragraphs.append(f"&lt;p&gt;{words} &lt;a href=&quot;https://example.org/{n}&quot;"
                          f"&gt;more&lt;/a&gt;&lt;/p&gt;")
    text = "".join(paragraphs)
    link = f"https://news{feed % 50}.example.org/{feed}/{n}"
    return (f"<item><title>Story {n} of feed {feed}: {rng.choice(WORDS)}</title>"
            f"<link>{link}</link><guid isPermaLink=\"true\">{link}</guid>"
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f"<description>{text}</description></item>")


class Corpus:
    """Feed ``i`` in round ``r``: its items numbered ``top-k .. top`` (top grows when the feed
    changes in that round)."""

    def __init__(self, feeds: int, changed: float, seed: int = 7) -> None:
        rng = random.Random(seed)
        self.items = [rng.randint(12, 45) for _ in range(feeds)]  # ~20-100 KB
        self.changes = [[rng.random() < changed for _ in range(100)] for _ in range(feeds)]
        self.round = 0
        self._cache: dict[tuple[int, int], bytes] = {}

    def top(self, feed: int) -> int:
        return 1000 + sum(self.changes[feed][1 : self.round + 1])

    def body(self, feed: int) -> bytes:
        top = self.top(feed)
        key = (feed, top)
        if key not in self._cache:
            parts = [
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
                f"<title>Feed {feed}</title><link>https://news{feed}.example.org/</link>",
                "<description>bench</description>",
            ]
            parts += [_item(feed, n, random.Random(feed * 100_000 + n))
                      for n in range(top, top - self.items[feed], -1)]
            parts.append("</channel></rss>")
            self._cache[key] = "\n".join(parts).encode()
        return self._cache[key]


def _serve(feeds: int, changed: float, total_rounds: int, ready: Any, rounds: Any) -> None:
    corpus = Corpus(feeds, changed)
    for r in range(total_rounds + 1):  # build every body up front: serving is then a copy
        corpus.round = r
        for feed in range(feeds):
            corpus.body(feed)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are two writes: with Nagle on, a kept-alive connection holds the
        # body's last segment until the client's delayed ACK (ms per response), a penalty
        # only keep-alive clients pay. Web servers avoid it (TCP_NODELAY / cork); so do we.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802
            corpus.round = rounds.value
            feed = int(self.path.rsplit("/", 1)[1])
            body = corpus.body(feed)
            etag = f'"{feed}-{corpus.top(feed)}"' if feed % 2 == 0 else None
            if etag and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    for host in range(1, HOSTS + 1):
        server = ThreadingHTTPServer((f"127.0.0.{host}", PORT), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.set()
    threading.Event().wait()


def urls(feeds: int) -> list[str]:
    return [f"http://127.0.0.{i % HOSTS + 1}:{PORT}/f/{i}" for i in range(feeds)]


def measure(fn: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def naive(feed_urls: list[str]) -> tuple[float, float]:
    import feedparser

    wall, cpu, _ = measure(lambda: [feedparser.parse(u) for u in feed_urls])
    return wall, cpu


def newsmon_rounds(feed_urls: list[str], rounds: int, counter: Any) -> dict[str, Any]:
    from ingest.poller import FeedPoller
    from newsmon.bus import MemoryBus
    from newsmon.config import FeedConfig, IngestSettings, Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), max_feed_bytes=2 * 1024 * 1024,
            ingest=IngestSettings(workers=2, host_concurrency=4, host_spacing=0.0,
                                  full_text_min_chars=0),
        )
        feeds = [FeedConfig.model_validate({"url": u}) for u in feed_urls]
        bus = MemoryBus()
        poller = FeedPoller(feeds, bus, Path(tmp) / "state.sqlite3", settings)
        now = datetime.now(UTC)
        cold = measure(lambda: poller.poll_all(now))
        warm_wall = warm_cpu = 0.0
        statuses: dict[str, int] = {}
        for r in range(1, rounds + 1):
            counter.value = r
            wall, cpu, report = measure(lambda: poller.poll_all(now))
            warm_wall, warm_cpu = warm_wall + wall, warm_cpu + cpu
            for f in report.feeds:
                statuses[f.status] = statuses.get(f.status, 0) + 1
        poller.close()
        return {"cold": cold[:2], "cold_new": cold[2].new_items, "warm": (warm_wall, warm_cpu),
                "statuses": statuses, "published": len(bus.records("news.articles.raw.v1"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--changed", type=float, default=0.1, help="share changed per round")
    args = parser.parse_args()
    ready, counter = mp.Event(), mp.Value("i", 0)
    server = mp.Process(target=_serve, args=(args.feeds, args.changed, args.rounds, ready, counter),
                        daemon=True)
    server.start()
    ready.wait(300)
    feed_urls = urls(args.feeds)
    try:
        naive_wall, naive_cpu = naive(feed_urls)
        ours = newsmon_rounds(feed_urls, args.rounds, counter)
    finally:
        server.terminate()
    polls = args.feeds * args.rounds
    warm_wall, warm_cpu = ours["warm"]
    cold_wall, cold_cpu = ours["cold"]
    figures = {
        "bench": "ingest", "feeds": args.feeds, "rounds": args.rounds,
        "changed_share": args.changed,
        "naive_feeds_per_s": round(args.feeds / naive_wall, 1),
        "naive_cpu_s_per_poll": round(naive_cpu / args.feeds, 5),
        "cold_feeds_per_s": round(args.feeds / cold_wall, 1),
        "cold_cpu_s_per_poll": round(cold_cpu / args.feeds, 5),
        "warm_feeds_per_s": round(polls / warm_wall, 1),
        "warm_cpu_s_per_poll": round(warm_cpu / polls, 5),
        "speedup_warm_vs_naive": round((polls / warm_wall) / (args.feeds / naive_wall), 1),
        "speedup_cold_vs_naive": round(naive_wall / cold_wall, 1),
        "cpu_ratio_warm_vs_naive": round((naive_cpu / args.feeds) / (warm_cpu / polls), 1),
        "warm_statuses": ours["statuses"], "published": ours["published"],
    }
    print(f"naive loop : {figures['naive_feeds_per_s']} feeds/s, "
          f"{figures['naive_cpu_s_per_poll'] * 1000:.2f} ms CPU/poll")
    print(f"cold round : {figures['cold_feeds_per_s']} feeds/s, "
          f"{figures['cold_cpu_s_per_poll'] * 1000:.2f} ms CPU/poll ({ours['cold_new']} new)")
    print(f"warm rounds: {figures['warm_feeds_per_s']} feeds/s, "
          f"{figures['warm_cpu_s_per_poll'] * 1000:.2f} ms CPU/poll {ours['statuses']}")
    print(f"speed-up (warm vs naive): {figures['speedup_warm_vs_naive']}x")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
