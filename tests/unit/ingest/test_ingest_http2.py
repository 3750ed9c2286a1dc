"""HTTP/2: a feed served over TLS with ALPN h2 (a CA made by trustme, trusted through the
``ingest.ca_bundle`` setting) is fetched over HTTP/2, conditionally, on one connection."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import pytest
import trustme

from ingest.fetch import Fetcher, Validators
from ingest.kinds import ErrorKind
from newsmon.config import Settings
from tests.unit.ingest.feedserver import rss

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
BODY = rss([("Talks resume", "https://news.example.org/a/1")])
ETAG = '"v1"'


class H2FeedServer:
    """One feed over HTTP/2 only (ALPN offers nothing else); counts connections."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.alpn: list[str | None] = []

    def serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._connection, args=(raw,), daemon=True).start()

    def _connection(self, raw: socket.socket) -> None:
        try:
            with self.context.wrap_socket(raw, server_side=True) as tls:
                self.alpn.append(tls.selected_alpn_protocol())
                conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
                conn.initiate_connection()
                tls.sendall(conn.data_to_send())
                while data := tls.recv(65535):
                    for event in conn.receive_data(data):
                        if isinstance(event, h2.events.RequestReceived):
                            self._respond(conn, event)
                    tls.sendall(conn.data_to_send())
        except (OSError, ssl.SSLError):
            return

    def _respond(self, conn: h2.connection.H2Connection, event: h2.events.RequestReceived) -> None:
        headers = {bytes(k).decode(): bytes(v).decode() for k, v in event.headers or []}
        sid = event.stream_id
        assert sid is not None
        if headers.get("if-none-match") == ETAG:
            conn.send_headers(sid, [(":status", "304"), ("etag", ETAG)], end_stream=True)
            return
        conn.send_headers(
            sid,
            [
                (":status", "200"),
                ("content-type", "application/rss+xml"),
                ("content-length", str(len(BODY))),
                ("etag", ETAG),
            ],
        )
        conn.send_data(sid, BODY, end_stream=True)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def h2_server(ca: trustme.CA) -> Iterator[H2FeedServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.set_alpn_protocols(["h2"])
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = H2FeedServer(context)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield server
    server.listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
    server.listener.close()
    thread.join(5)


def with_ca(settings: Settings, path: Path | None) -> Settings:
    ingest = settings.ingest.model_copy(update={"ca_bundle": path, "http2": True})
    return settings.model_copy(update={"ingest": ingest})


def test_feed_over_http2_with_a_configured_ca(
    h2_server: H2FeedServer, ca: trustme.CA, settings: Settings, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    fetcher = Fetcher(with_ca(settings, bundle))
    url = f"https://127.0.0.1:{h2_server.port}/feed.xml"
    first = fetcher.fetch(url, Validators(), NOW)
    second = fetcher.fetch(url, first.validators, NOW)
    fetcher.close()
    assert first.ok, first.detail
    assert (first.http_version, first.status, first.body) == ("HTTP/2", 200, BODY)
    assert (second.http_version, second.status, second.not_modified) == ("HTTP/2", 304, True)
    assert h2_server.alpn == ["h2"] and h2_server.connections == 1  # one multiplexed connection


def test_certificate_still_verified_without_the_ca(
    h2_server: H2FeedServer, settings: Settings
) -> None:
    fetcher = Fetcher(with_ca(settings, None))
    result = fetcher.fetch(f"https://127.0.0.1:{h2_server.port}/feed.xml", Validators(), NOW)
    fetcher.close()
    assert result.error == ErrorKind.CONNECTION
    assert "CERTIFICATE_VERIFY_FAILED" in result.detail
