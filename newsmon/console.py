"""The live terminal view of ``newsmon run``: what every stage did so far, refreshed in place.

It reads the same Prometheus counters the services expose, so the view and ``/metrics`` never
disagree. Shown only when stderr is a terminal; logs then go through rich so they scroll above
the view instead of tearing it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from types import TracebackType

from prometheus_client import REGISTRY
from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler
from rich.table import Table


def _value(name: str, **labels: str) -> int:
    return int(REGISTRY.get_sample_value(name, labels) or 0)


def _sum(name: str, label: str, values: tuple[str, ...]) -> int:
    return sum(_value(name, **{label: v}) for v in values)


def _all(name: str) -> int:
    """The sum of a counter over all its label values."""
    return int(
        sum(
            sample.value
            for metric in REGISTRY.collect()
            for sample in metric.samples
            if sample.name == name
        )
    )


def snapshot() -> dict[str, int]:
    """The figures the view shows (also printed as the final summary)."""
    polls_ok = _sum("newsmon_ingest_polls_total", "status", ("ok", "not_modified"))
    return {
        "feeds polled": _all("newsmon_ingest_polls_total"),
        "feed errors": _all("newsmon_ingest_polls_total") - polls_ok,
        "articles new": _value("newsmon_ingest_items_published_total"),
        "tagged": _value("newsmon_stage_records_total", stage="process", status="ok"),
        "stored": _value("newsmon_stage_records_total", stage="index", status="ok"),
        "matched": _value("newsmon_stage_records_total", stage="alert", status="ok"),
        "alerts sent": _value("newsmon_alert_sent_total"),
        "dead letters": sum(
            _value("newsmon_stage_records_total", stage=s, status="dead_letter")
            for s in ("process", "index", "alert")
        ),
    }


def render(figures: dict[str, int], started: float) -> Table:
    table = Table(title=f"newsmon run — {time.monotonic() - started:.0f}s", title_justify="left")
    for name in figures:
        table.add_column(name, justify="right")
    table.add_row(*(f"{v:,}" for v in figures.values()))
    return table


class RunView:
    """Context manager: a live table on a terminal, nothing otherwise."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.console = Console(stderr=True)
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._live: Live | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunView:
        if not self.enabled:
            return self
        root = logging.getLogger()
        root.handlers[:] = [RichHandler(console=self.console, show_path=False)]
        self._live = Live(render(snapshot(), self._started), console=self.console)
        self._live.__enter__()
        self._thread = threading.Thread(target=self._refresh, name="run-view", daemon=True)
        self._thread.start()
        return self

    def _refresh(self) -> None:
        while not self._stop.wait(0.5):
            if self._live is not None:
                self._live.update(render(snapshot(), self._started))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.update(render(snapshot(), self._started))
            self._live.__exit__(exc_type, exc, tb)
        elif self.enabled is False:
            summary = " ".join(f"{k.replace(' ', '_')}={v}" for k, v in snapshot().items())
            logging.getLogger("newsmon").info("run summary %s", summary)
