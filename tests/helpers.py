"""Local HTTP servers for tests: a feed server and a webhook receiver (loopback only)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def seed_article() -> tuple[str, str]:
    lines = (FIXTURES / "seed" / "istanbul-talks-invitation.txt").read_text("utf-8").splitlines()
    return lines[0].strip(), "\n".join(lines[1:]).strip()


def rss(items: list[dict[str, Any]], title: str = "Test Wire") -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link><description>t</description>",
    ]
    for item in items:
        published: datetime = item["published"]
        parts.append(
            "<item>"
            f"<title>{escape(item['title'])}</title>"
            f"<link>{escape(item['link'])}</link>"
            f'<guid isPermaLink="true">{escape(item["link"])}</guid>'
            f"<pubDate>{format_datetime(published)}</pubDate>"
            f"<description>{escape(item['text'])}</description>"
            "</item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


@contextmanager
def serve(handler: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    """Serve ``handler`` for GET and POST on 127.0.0.1; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            handler(self)

        def do_POST(self) -> None:  # noqa: N802
            handler(self)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class FeedServer:
    """Serves named byte documents: ``set(path, body, content_type)``."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple[bytes, str]] = {}
        self.hits: dict[str, int] = {}

    def set(self, path: str, body: bytes, content_type: str = "application/rss+xml") -> None:
        self.docs[path] = (body, content_type)

    def __call__(self, req: BaseHTTPRequestHandler) -> None:
        self.hits[req.path] = self.hits.get(req.path, 0) + 1
        body, ctype = self.docs.get(req.path, (b"not found", "text/plain"))
        req.send_response(200 if req.path in self.docs else 404)
        req.send_header("Content-Type", ctype)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)


class WebhookReceiver:
    """Records every POSTed JSON body."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, req: BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length", "0"))
        body = req.rfile.read(length)
        with self.lock:
            self.calls.append(json.loads(body))
        req.send_response(204)
        req.end_headers()
