"""A loopback feed server for the benchmark: one RSS 2.0 feed per outlet, items released on a
schedule.

``release_all()`` publishes every item at once (the throughput run: a backlog the pipeline
drains as fast as it can); ``release_at(rate)`` publishes item *j* at ``start + j / rate``
(the latency run). Before either, every feed is an empty channel, so the poller can start, load
its state and poll once before the clock starts. Each document lists the newest ``window`` items
of its feed and answers ``If-None-Match`` with 304, as well-behaved publishers do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from bench.corpus import Item

HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        "<title>{name}</title><link>https://www.outlet{k}.example/</link>"
        "<description>bench feed</description>\n")


def render_item(item: Item) -> str:
    link = escape(item.link)
    return (f"<item><title>{escape(item.title)}</title><link>{link}</link>"
            f'<guid isPermaLink="true">{link}</guid>'
            f"<pubDate>{format_datetime(item.published)}</pubDate>"
            f"<description>{escape(item.text)}</description></item>\n")


class ProgressiveFeeds:
    """The feeds' content as a function of time (thread-safe: read by the server's threads)."""

    def __init__(self, items: Sequence[Item], feeds: int, window: int = 100) -> None:
        self._by_feed: list[list[tuple[int, str]]] = [[] for _ in range(feeds)]
        for item in items:  # items are in release order
            self._by_feed[item.feed].append((item.index, render_item(item)))
        self.window = window
        self._start: float | None = None
        self._rate: float | None = None
        self._lock = threading.Lock()
        self._cache: dict[tuple[int, int], bytes] = {}
        self.hits = [0] * feeds

    def release_all(self) -> None:
        self._rate, self._start = None, time.monotonic()

    def release_at(self, rate: float) -> None:
        self._rate, self._start = rate, time.monotonic()

    def released(self, now: float | None = None) -> int:
        """How many items (over all feeds) are published now."""
        if self._start is None:
            return 0
        if self._rate is None:
            return 1 << 62
        return int(((now or time.monotonic()) - self._start) * self._rate) + 1

    def document(self, k: int) -> tuple[bytes, str]:
        limit = self.released()
        rows = self._by_feed[k]
        count = sum(1 for index, _ in rows if index < limit)
        with self._lock:
            self.hits[k] += 1
            body = self._cache.get((k, count))
            if body is None:
                newest = rows[max(0, count - self.window):count][::-1]
                body = (HEAD.format(name=f"Outlet {k}", k=k)
                        + "".join(xml for _, xml in newest) + "</channel></rss>\n").encode()
                self._cache[(k, count)] = body
        return body, f'"{k}-{count}"'


def _handler(feeds: ProgressiveFeeds) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            parts = self.path.strip("/").removesuffix(".xml").split("/")
            if len(parts) != 2 or parts[0] != "feeds" or not parts[1].isdigit():
                self.send_error(404)
                return
            body, etag = feeds.document(int(parts[1]))
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def serve(feeds: ProgressiveFeeds) -> Iterator[str]:
    """Serve on 127.0.0.1 (a free port); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(feeds))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="bench-feeds", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def feeds_yaml(base: str, feeds: int, interval: float) -> str:
    return "".join(
        f"- url: {base}/feeds/{k}.xml\n  name: Outlet {k}\n  interval: {interval}\n"
        f"  full_text: false\n"
        for k in range(feeds)
    )
