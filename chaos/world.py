"""The world the services run in: generated articles, a feed server releasing them over time,
and a webhook receiver recording every alert delivery. Loopback only, standard library only.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "fixtures" / "dev" / "articles.jsonl"
EPOCH = datetime(2025, 5, 11, 8, 0, tzinfo=UTC)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
PLACES = "Kyiv Istanbul Geneva Riyadh Warsaw Brussels Ankara Minsk Vienna Helsinki".split()


@dataclass(frozen=True)
class Item:
    n: int
    feed: int
    title: str
    text: str
    path: str
    published: datetime


def generate(count: int, feeds: int, seed: int = 7, sentences: int = 4) -> list[Item]:
    """``count`` distinct articles: dev-set headlines re-worded and numbered, texts made of
    sentences drawn from the whole dev set (so most are their own story), unique URLs."""
    rows = [json.loads(line) for line in SOURCE.read_text("utf-8").splitlines() if line.strip()]
    pool = [s for r in rows for s in _SENTENCE.split(r["text"]) if 40 <= len(s) <= 400]
    rng = random.Random(seed)
    items = []
    for n in range(count):
        base = rows[n % len(rows)]
        place = PLACES[(n // len(rows)) % len(PLACES)]
        text = " ".join(rng.sample(pool, sentences))
        items.append(
            Item(
                n=n,
                feed=n % feeds,
                title=f"{base['title']} ({place} update {n})",
                text=text,
                path=f"/news/{n % feeds}/{n:06d}-{_slug(base['title'])}",
                published=EPOCH + timedelta(seconds=n),
            )
        )
    return items


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:48]


class FeedWorld:
    """Serves ``/feed/<k>.xml``: the newest ``window`` released items of feed ``k``. Item ``n``
    is released at ``start + n / rate`` seconds (all at once with ``release_all``)."""

    def __init__(self, items: list[Item], feeds: int, rate: float, window: int = 200) -> None:
        self.items, self.feeds, self.rate, self.window = items, feeds, rate, window
        self.start = time.monotonic()
        self.all_released = False
        self.base = ""
        self.hits = 0

    def released(self) -> int:
        if self.all_released:
            return len(self.items)
        return min(len(self.items), int((time.monotonic() - self.start) * self.rate))

    def release_all(self) -> None:
        self.all_released = True

    def url(self, item: Item) -> str:
        return f"{self.base}{item.path}"

    def document(self, feed: int) -> tuple[bytes, str]:
        upto = self.released()
        mine = [i for i in self.items[:upto] if i.feed == feed][-self.window :]
        etag = f'"{feed}-{len(mine)}-{mine[-1].n if mine else -1}"'
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<rss version="2.0"><channel>',
            f"<title>Chaos Wire {feed}</title><link>{self.base}/</link>",
            "<description>t</description>",
        ]
        for item in reversed(mine):
            link = escape(self.url(item))
            parts.append(
                f"<item><title>{escape(item.title)}</title><link>{link}</link>"
                f'<guid isPermaLink="true">{link}</guid>'
                f"<pubDate>{format_datetime(item.published)}</pubDate>"
                f"<description>{escape(item.text)}</description></item>"
            )
        parts.append("</channel></rss>")
        return "\n".join(parts).encode(), etag

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        self.hits += 1
        m = re.fullmatch(r"/feed/(\d+)\.xml", req.path)
        if not m or int(m.group(1)) >= self.feeds:
            _reply(req, 404, b"not found", "text/plain")
            return
        body, etag = self.document(int(m.group(1)))
        if req.headers.get("If-None-Match") == etag:
            req.send_response(304)
            req.send_header("ETag", etag)
            req.end_headers()
            return
        _reply(req, 200, body, "application/rss+xml", {"ETag": etag})


class Receiver:
    """Records every webhook POST: body and the delivery id header."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        body = req.rfile.read(int(req.headers.get("Content-Length", "0")))
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {"raw": body.decode("utf-8", "replace")}
        with self.lock:
            self.calls.append({**payload, "_delivery": req.headers.get("X-Newsmon-Delivery")})
        _reply(req, 204, b"", "text/plain")

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.calls)


def _reply(
    req: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str,
    headers: dict[str, str] | None = None,
) -> None:
    req.send_response(status)
    req.send_header("Content-Type", ctype)
    req.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        req.send_header(k, v)
    req.end_headers()
    if body:
        req.wfile.write(body)


@contextmanager
def serve(handler: Any) -> Iterator[str]:
    """Serve ``handler(request)`` for GET and POST on 127.0.0.1; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            handler(self)

        def do_POST(self) -> None:  # noqa: N802
            handler(self)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
