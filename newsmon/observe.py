"""Metrics and health for every service: ``/metrics`` (Prometheus) and ``/healthz``.

Metric names follow ``newsmon_<stage>_<noun>_total{status=...}`` and ``_seconds`` histograms;
the consume loop's own metrics carry a ``stage`` label. ``/healthz`` answers 200 only when every
registered check passes (a check raises :class:`TransientError` with the reason), else 503.
The server binds to loopback unless told otherwise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from newsmon.errors import NewsmonError

log = logging.getLogger(__name__)

#: Default metrics port per service (``NEWSMON_METRICS_PORT`` overrides; 0 disables).
DEFAULT_PORTS = {"ingest": 9461, "process": 9462, "index": 9463, "alert": 9464, "run": 9460}

RECORDS = Counter(
    "newsmon_stage_records_total", "Records handled by a consuming stage", ["stage", "status"]
)
BATCH_SECONDS = Histogram(
    "newsmon_stage_batch_seconds", "Time to handle, flush and commit one batch", ["stage"]
)
TRANSIENT = Counter(
    "newsmon_stage_transient_errors_total", "Batches retried after a transient failure", ["stage"]
)
LAG = Gauge("newsmon_stage_consumer_lag", "Records not yet committed by the stage", ["stage"])
UP = Gauge("newsmon_stage_dependencies_up", "1 when the last health check passed", ["stage"])

Check = Callable[[], None]


class HealthServer:
    """``/metrics`` and ``/healthz`` on a background thread."""

    def __init__(self, stage: str, checks: Sequence[Check], host: str, port: int) -> None:
        self.stage = stage
        self.checks = list(checks)
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer((host, port), handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"health-{stage}", daemon=True
        )

    def start(self) -> HealthServer:
        self._thread.start()
        log.info("metrics stage=%s url=http://%s:%d/metrics", self.stage,
                 self._server.server_address[0], self.port)
        return self

    def health(self) -> tuple[bool, list[str]]:
        problems: list[str] = []
        for check in self.checks:
            try:
                check()
            except NewsmonError as exc:
                problems.append(str(exc))
        UP.labels(self.stage).set(0 if problems else 1)
        return not problems, problems

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_for(server: HealthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            if self.path.startswith("/metrics"):
                self._reply(200, generate_latest(), CONTENT_TYPE_LATEST)
            elif self.path.startswith("/healthz"):
                ok, problems = server.health()
                body = ("ok\n" if ok else "\n".join(problems) + "\n").encode()
                self._reply(200 if ok else 503, body, "text/plain; charset=utf-8")
            else:
                self._reply(404, b"not found\n", "text/plain")

        def _reply(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


def serve_health(
    stage: str, checks: Sequence[Check], port: int | None, host: str = "127.0.0.1"
) -> HealthServer | None:
    """Start the endpoint on ``port`` (None: the stage's default; 0: disabled). A port in use
    is logged, not fatal: the service runs without the endpoint."""
    chosen = DEFAULT_PORTS.get(stage, 0) if port is None else port
    if chosen == 0:
        return None
    try:
        return HealthServer(stage, checks, host, chosen).start()
    except OSError as exc:
        log.warning("metrics endpoint not started stage=%s port=%d error=%s", stage, chosen, exc)
        return None
