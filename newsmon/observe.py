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

from newsmon.errors import NewsmonError, TransientError

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
BACKING_OFF = Gauge(
    "newsmon_stage_backing_off", "1 while the stage retries after a transient failure", ["stage"]
)
LAST_BATCH = Gauge(
    "newsmon_stage_last_batch_timestamp_seconds", "When the stage last committed a batch", ["stage"]
)

Check = Callable[[], None]

#: A health check that does not answer within this many seconds counts as failed.
CHECK_TIMEOUT = 6.0


class StageState:
    """What the consume loop last saw: healthy, or backing off after a transient failure.
    Registered as a health check, so ``/healthz`` answers 503 while the stage cannot work."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self._lock = threading.Lock()
        self.failure: str | None = None
        self.failures = 0

    def backing_off(self, reason: str) -> None:
        with self._lock:
            self.failure, self.failures = reason, self.failures + 1
        BACKING_OFF.labels(self.stage).set(1)

    def working(self) -> None:
        with self._lock:
            self.failure, self.failures = None, 0
        BACKING_OFF.labels(self.stage).set(0)

    def check(self) -> None:
        with self._lock:
            failure, failures = self.failure, self.failures
        if failure is not None:
            raise TransientError(
                f"stage {self.stage} backing off after {failures} transient failures: {failure}"
            )


_STATES: dict[str, StageState] = {}
_STATES_LOCK = threading.Lock()


def stage_state(stage: str) -> StageState:
    """The process-wide :class:`StageState` of ``stage``."""
    with _STATES_LOCK:
        return _STATES.setdefault(stage, StageState(stage))


def bounded(check: Check, timeout: float = CHECK_TIMEOUT) -> Check:
    """``check`` run on a helper thread: one that hangs (a half-open socket, a stopped JVM)
    fails with TransientError after ``timeout`` seconds instead of hanging ``/healthz``. While
    a timed-out run is still going, further calls fail at once instead of piling up threads."""
    running = threading.Lock()

    def run() -> None:
        if not running.acquire(blocking=False):
            raise TransientError(f"health check {_name(check)} still running (timed out before)")
        outcome: list[BaseException | None] = []

        def target() -> None:
            try:
                check()
                outcome.append(None)
            except BaseException as exc:  # handed to the caller below
                outcome.append(exc)
            finally:
                running.release()

        worker = threading.Thread(target=target, name="health-check", daemon=True)
        worker.start()
        worker.join(timeout)
        if not outcome:
            raise TransientError(f"health check {_name(check)} timed out after {timeout:.0f}s")
        if outcome[0] is not None:
            raise outcome[0]

    return run


def _name(check: Check) -> str:
    owner = getattr(check, "__self__", None)
    return f"{type(owner).__name__}.check" if owner is not None else getattr(check, "__name__", "?")


class StageLogFilter(logging.Filter):
    """Labels every log record of a service process with its stage (JSON logs: ``stage``)."""

    def __init__(self, stage: str) -> None:
        super().__init__()
        self.stage = stage

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "stage"):
            record.stage = self.stage
        return True


def label_logs(stage: str) -> None:
    """Add :class:`StageLogFilter` to the root handlers (call after logging is configured)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, StageLogFilter) for f in handler.filters):
            handler.addFilter(StageLogFilter(stage))


class HealthServer:
    """``/metrics`` and ``/healthz`` on a background thread."""

    def __init__(self, stage: str, checks: Sequence[Check], host: str, port: int) -> None:
        self.stage = stage
        self.checks = [bounded(c) for c in checks]
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
            except Exception as exc:  # an untranslated vendor error still means "not ready"
                problems.append(f"{type(exc).__name__}: {exc}")
        UP.labels(self.stage).set(0 if problems else 1)
        return not problems, problems

    def close(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever: only if it runs
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
