"""A scriptable feed server on 127.0.0.1 for the ingest tests, and small feed builders."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

FEEDS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "feeds"

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


def rss(items: list[tuple[str, str]], title: str = "Test Feed") -> bytes:
    """A small RSS 2.0 document with ``(title, link)`` items."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link>"
        f"<pubDate>Mon, 02 Jun 2025 10:00:00 GMT</pubDate><description>About {t}.</description>"
        "</item>"
        for t, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link>{body}</channel></rss>"
    ).encode()


def send(
    handler: http.server.BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    merged = {"Content-Type": "application/rss+xml; charset=utf-8", **(headers or {})}
    if status != 304:
        merged.setdefault("Content-Length", str(len(body)))
    for name, value in merged.items():
        handler.send_header(name, value)
    handler.end_headers()
    if status != 304 and body:
        handler.wfile.write(body)


def static(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    return lambda h: send(h, status, body, headers)


def with_etag(body: bytes, etag: str = '"v1"') -> Handler:
    """Serve ``body`` with an ETag; answer 304 to a matching If-None-Match."""

    def handle(h: http.server.BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == etag:
            send(h, 304, headers={"ETag": etag})
        else:
            send(h, 200, body, {"ETag": etag})

    return handle


def redirect(location: str, status: int = 302) -> Handler:
    return lambda h: send(h, status, b"", {"Location": location})


def drip(byte_every: float, total: int = 1000) -> Handler:
    """Send a 200 and then one byte every ``byte_every`` seconds."""

    def handle(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(total))
        h.end_headers()
        try:
            for _ in range(total):
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(byte_every)
        except OSError:
            return

    return handle


@dataclass
class FeedServer:
    """An HTTP server whose paths are scripted by tests; records each request."""

    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    port: int = 0
    host: str = "127.0.0.1"

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


def _handler_class(server: FeedServer) -> type[http.server.BaseHTTPRequestHandler]:
    class _Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            server.requests.append((self.path, dict(self.headers)))
            route = server.routes.get(self.path)
            if route is None:
                send(self, 404, b"not found", {"Content-Type": "text/plain"})
            else:
                route(self)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return _Handler


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return None  # clients hanging up early (size cap, deadline) are expected


@contextmanager
def running_server(host: str = "127.0.0.1") -> Iterator[FeedServer]:
    """Serve a :class:`FeedServer` on a random port of ``host`` (a loopback address: another
    one, 127.0.0.2 say, is another host to the poller) for the ``with`` block."""
    state = FeedServer(host=host)
    httpd = _QuietServer((host, 0), _handler_class(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
