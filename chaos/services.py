"""A private Kafka + Elasticsearch pair for tests that stop, restart or overload services.

``deploy/local/services`` honours ``NEWSMON_SVC_DIR`` and the port variables, so a second pair
runs next to the shared one (which other tests use concurrently and must not be disturbed)
in its own state directory on other ports. Ports default to 19092/19093 (Kafka) and
19200/19300 (Elasticsearch); ``NEWSMON_CHAOS_SVC_DIR`` / ``NEWSMON_CHAOS_*_PORT`` override.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "local" / "services"


class PrivateServices:
    def __init__(self) -> None:
        get = os.environ.get
        self.env = {
            **os.environ,
            "NEWSMON_SVC_DIR": get("NEWSMON_CHAOS_SVC_DIR", "/var/tmp/newsmon-svc-chaos"),
            "NEWSMON_KAFKA_PORT": get("NEWSMON_CHAOS_KAFKA_PORT", "19092"),
            "NEWSMON_KAFKA_CONTROLLER_PORT": get("NEWSMON_CHAOS_KAFKA_CONTROLLER_PORT", "19093"),
            "NEWSMON_ES_PORT": get("NEWSMON_CHAOS_ES_PORT", "19200"),
            "NEWSMON_ES_TRANSPORT_PORT": get("NEWSMON_CHAOS_ES_TRANSPORT_PORT", "19300"),
        }
        self.bus = f"kafka://127.0.0.1:{self.env['NEWSMON_KAFKA_PORT']}"
        self.store = f"http://127.0.0.1:{self.env['NEWSMON_ES_PORT']}"

    def run(self, command: str, timeout: float = 900) -> float:
        """Run one ``services`` sub-command; returns its duration in seconds."""
        started = time.monotonic()
        self._output(command, timeout)
        return time.monotonic() - started

    def _output(self, command: str, timeout: float = 900) -> str:
        proc = subprocess.run(
            [str(SCRIPT), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"services {command} failed:\n{proc.stderr[-4000:]}")
        return proc.stdout

    def up(self) -> tuple[str, str]:
        """Start (idempotent) and wait until both are healthy; ``(bus, store)`` URLs."""
        self.run("up")
        return self.bus, self.store

    def down(self) -> None:
        """Stop both and remove their data (the end of a test session)."""
        self.run("down")

    def ensure_up(self) -> None:
        """After a test that stopped one of them: start whatever is not running."""
        self.run("up")

    @contextmanager
    def kafka_frozen(self) -> Iterator[None]:
        """The broker stopped with SIGSTOP inside the block: connections stay open and requests
        in flight get no answer (a hung broker, not a refused port); SIGCONT on the way out."""
        pid = int(self._output("pid-kafka", timeout=30))
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)
