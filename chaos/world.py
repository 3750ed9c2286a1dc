"""The world the services run in: generated articles with their ground-truth stories (a share
of them syndicated copies of others: :mod:`chaos.syndicate`), a feed server releasing them over
time on one or more loopback hosts, and a webhook receiver recording every alert delivery.
Loopback only; the standard library plus the story clustering's pure signatures.
"""

from __future__ import annotations

import itertools
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

from chaos.syndicate import Truth, make_copy

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "fixtures" / "dev" / "articles.jsonl"
EPOCH = datetime(2025, 5, 11, 8, 0, tzinfo=UTC)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
PLACES = "Kyiv Istanbul Geneva Riyadh Warsaw Brussels Ankara Minsk Vienna Helsinki".split()
MAX_GROUP = 5  # an original and up to four copies


@dataclass(frozen=True)
class Item:
    """One feed item. ``group``: its story in the ground truth (the ``n`` of the original
    when the items were drafted); ``copy``: a syndicated copy of that original."""

    n: int
    feed: int
    title: str
    text: str
    path: str
    published: datetime
    group: int = -1
    copy: bool = False


@dataclass
class _Draft:
    slot: float  # release order
    group: int
    feed: int
    title: str
    text: str
    copy: bool


def generate(
    count: int,
    feeds: int,
    seed: int = 7,
    dup_share: float = 0.35,
    sentences: tuple[int, int] = (5, 8),
) -> list[Item]:
    """``count`` articles, ``round(count * dup_share)`` of them syndicated copies of others
    (:mod:`chaos.syndicate`) in another feed, released a few items before to a dozen after
    their original. Originals: a dev-set headline re-worded and numbered over sentences drawn
    from the English dev articles, in paragraphs. The grouping is unambiguous for the story
    clustering (:class:`chaos.syndicate.Truth`): drafts that would blur it are drawn again."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in SOURCE.read_text("utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("language", "en") == "en"]
    pool = [s for r in rows for s in _SENTENCE.split(r["text"]) if 40 <= len(s) <= 400]
    copies = round(count * dup_share) if feeds >= 2 else 0
    originals = count - copies
    if copies > originals * (min(MAX_GROUP, feeds) - 1):
        raise ValueError(f"{copies} copies do not fit on {originals} originals and {feeds} feeds")
    truth, drafts = Truth(), {}
    for g in range(originals):
        drafts[g] = _original(rng, truth, g, rows, pool, sentences, feeds, originals, count)
    pending, keys = copies, itertools.count(originals)
    while pending:
        for _ in range(pending):
            k = next(keys)
            drafts[k] = _copy(rng, truth, k, drafts, feeds, originals)
        bad = {max(pair) for pair in truth.ambiguous()}  # the later of the pair is a copy
        for k in bad:
            truth.remove(k)
            del drafts[k]
        pending = len(bad)
    order = sorted(drafts.values(), key=lambda d: d.slot)
    return [
        Item(
            n=n,
            feed=d.feed,
            title=d.title,
            text=d.text,
            path=f"/news/{d.feed}/{n:06d}-{_slug(d.title)}",
            published=EPOCH + timedelta(seconds=round(30 * d.slot)),
            group=d.group,
            copy=d.copy,
        )
        for n, d in enumerate(order)
    ]


def _original(
    rng: random.Random,
    truth: Truth,
    g: int,
    rows: list[dict[str, str]],
    pool: list[str],
    sentences: tuple[int, int],
    feeds: int,
    originals: int,
    count: int,
) -> _Draft:
    base = rows[g % len(rows)]
    title = f"{base['title']} ({PLACES[(g // len(rows)) % len(PLACES)]} update {g})"
    while True:
        picked = rng.sample(pool, rng.randint(*sentences))
        paragraphs, i = [], 0
        while i < len(picked):
            step = rng.randint(2, 3)
            paragraphs.append(" ".join(picked[i : i + step]))
            i += step
        text = "\n\n".join(paragraphs)
        sig, keys = truth.sign(title, text)
        if not truth.clashes(sig, keys, g):
            truth.add(g, g, sig, keys)
            return _Draft(g * count / originals, g, g % feeds, title, text, False)


def _copy(
    rng: random.Random,
    truth: Truth,
    k: int,
    drafts: dict[int, _Draft],
    feeds: int,
    originals: int,
) -> _Draft:
    """A copy of a random original whose group has room, in a feed none of its group is in."""
    cap = min(MAX_GROUP, feeds)
    while True:
        g = rng.randrange(originals)
        if len(truth.members[g]) >= cap:
            continue
        orig = drafts[g]
        for attempt in range(8):
            title, text = (
                make_copy(rng, orig.title, orig.text)
                if attempt < 7
                else (f"Update: {orig.title}", orig.text)
            )  # the plainest copy, should all else fail
            sig, keys = truth.sign(title, text)
            if truth.joins(sig, keys, g) and not truth.clashes(sig, keys, g):
                used = {drafts[m].feed for m in truth.members[g]}
                truth.add(k, g, sig, keys)
                feed = rng.choice([f for f in range(feeds) if f not in used])
                slot = orig.slot + rng.uniform(-3.0, 12.0)  # the copy may even come out first
                return _Draft(slot, g, feed, title, text, True)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:48]


class FeedWorld:
    """Serves ``/feed/<k>.xml``: the newest ``window`` released items of feed ``k``. Item ``n``
    is released at ``start + n / rate`` seconds (all at once with ``release_all``). Feed ``k``
    and its items live on host ``bases[k % len(bases)]`` (several loopback addresses are
    several hosts to the poller, which places feeds on ingest instances by host)."""

    def __init__(self, items: list[Item], feeds: int, rate: float, window: int = 200) -> None:
        self.items, self.feeds, self.rate, self.window = items, feeds, rate, window
        self.start = time.monotonic()
        self.all_released = False
        self.bases: list[str] = [""]
        self.hits = 0

    def released(self) -> int:
        if self.all_released:
            return len(self.items)
        return min(len(self.items), int((time.monotonic() - self.start) * self.rate))

    def release_all(self) -> None:
        self.all_released = True

    def base(self, feed: int) -> str:
        return self.bases[feed % len(self.bases)]

    def feed_url(self, feed: int) -> str:
        return f"{self.base(feed)}/feed/{feed}.xml"

    def url(self, item: Item) -> str:
        return f"{self.base(item.feed)}{item.path}"

    def document(self, feed: int) -> tuple[bytes, str]:
        upto = self.released()
        mine = [i for i in self.items[:upto] if i.feed == feed][-self.window :]
        etag = f'"{feed}-{len(mine)}-{mine[-1].n if mine else -1}"'
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<rss version="2.0"><channel>',
            f"<title>Chaos Wire {feed}</title><link>{self.base(feed)}/</link>",
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
    req: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    ctype: str,
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
def serve(handler: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``handler(request)`` for GET and POST on ``host`` (a loopback address); yields
    the base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            handler(self)

        def do_POST(self) -> None:  # noqa: N802
            handler(self)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
