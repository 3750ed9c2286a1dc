"""The ingest service loop: poll due feeds, sleep until the next is due, until stopped."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from ingest.poller import FeedPoller, PollReport
from ingest.state import STATE_FILE
from newsmon.bus import Bus
from newsmon.config import FeedConfig, Settings
from newsmon.errors import TransientError

log = logging.getLogger(__name__)

MAX_SLEEP = 60.0
MIN_SLEEP = 0.05
IDLE_EVERY = 5.0  # seconds between ``on_idle`` calls while waiting for the next due feed
BUS_BACKOFF_START = 1.0
BUS_BACKOFF_CAP = 30.0  # as the stages (runtime.Backoff): at most 30 s behind a broker that is back
ONCE_ATTEMPTS = 5

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def run_ingest(
    settings: Settings,
    feeds: Sequence[FeedConfig],
    bus: Bus,
    stop: threading.Event,
    *,
    once: bool = False,
    clock: Clock = utc_now,
    on_idle: Callable[[], None] | None = None,
) -> PollReport | None:
    """Run the poller until ``stop`` is set; with ``once``, poll every feed once and return
    that round's report. A bus that does not acknowledge (TransientError) is retried with
    back-off; the unacknowledged articles stay unseen and are published again. ``on_idle`` is
    called in this thread every ``IDLE_EVERY`` seconds of waiting (``newsmon run``: the alert
    stage's digest clock, which must tick when no article arrives)."""
    poller = FeedPoller(feeds, bus, settings.data_dir / STATE_FILE, settings)
    log.info("ingest starting feeds=%d once=%s", len(feeds), once)
    try:
        if once:
            return _run_once(poller, stop, clock)
        _run_forever(poller, stop, clock, on_idle)
        return None
    finally:
        poller.close()
        log.info("ingest stopped")


def _run_once(poller: FeedPoller, stop: threading.Event, clock: Clock) -> PollReport | None:
    backoff = BUS_BACKOFF_START
    for attempt in range(1, ONCE_ATTEMPTS + 1):
        try:
            return poller.poll_all(clock())
        except TransientError as exc:
            if attempt == ONCE_ATTEMPTS:
                raise
            log.warning("publish not acknowledged error=%r retry_in=%.1fs", str(exc), backoff)
            if stop.wait(backoff):
                return None
            backoff = min(backoff * 2, BUS_BACKOFF_CAP)
    return None


def _run_forever(
    poller: FeedPoller, stop: threading.Event, clock: Clock, on_idle: Callable[[], None] | None
) -> None:
    backoff = BUS_BACKOFF_START
    while not stop.is_set():
        try:
            report = poller.poll_due(clock())
        except TransientError as exc:
            log.warning("publish not acknowledged error=%r retry_in=%.1fs", str(exc), backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, BUS_BACKOFF_CAP)
            continue
        backoff = BUS_BACKOFF_START
        if report.feeds:
            log.info(
                "poll round feeds=%d new=%d errors=%d",
                len(report.feeds),
                report.new_items,
                len(report.errors),
            )
        _wait(stop, sleep_seconds(poller.next_due(), clock()), on_idle)


def _wait(stop: threading.Event, seconds: float, on_idle: Callable[[], None] | None) -> None:
    if on_idle is None:
        stop.wait(seconds)
        return
    deadline = time.monotonic() + seconds
    while not stop.wait(min(IDLE_EVERY, max(0.0, deadline - time.monotonic()))):
        on_idle()
        if time.monotonic() >= deadline:
            return


def sleep_seconds(next_due: datetime, now: datetime) -> float:
    """How long to sleep before the next round (bounded so a stop is noticed promptly)."""
    return max(MIN_SLEEP, min(MAX_SLEEP, (next_due - now).total_seconds()))
