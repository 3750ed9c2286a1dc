"""The ingest service loop: poll the due feeds this instance owns, then wait (taking part in
the ingest group meanwhile) until the next is due, until stopped.

Between two rounds the service syncs with the group (:mod:`ingest.ownership`): feeds gained
are taken over from their shared records, feeds lost are no longer polled. The store is asked
whether it holds what the seen-state calls published (:mod:`ingest.storecheck`) at start, for
feeds taken over, and every ``ingest.store_check_every`` seconds; feeds it lacks are published
again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from ingest.ownership import GROUP, FeedOwnership
from ingest.poller import FeedPoller, PollReport
from ingest.state import STATE_FILE
from ingest.storecheck import StoreCheck
from newsmon.bus import FEEDS_TOPIC, Bus
from newsmon.config import FeedConfig, Settings
from newsmon.errors import TransientError
from newsmon.store import ArticleStore

log = logging.getLogger(__name__)

MAX_SLEEP = 60.0
MIN_SLEEP = 0.05
IDLE_EVERY = 5.0  # seconds between ``on_idle`` calls while waiting for the next due feed
BUS_BACKOFF_START = 1.0
BUS_BACKOFF_CAP = 30.0  # as the stages (runtime.Backoff): at most 30 s behind a broker that is back
ONCE_ATTEMPTS = 5
SYNC_EVERY = 0.5  # seconds between group syncs while waiting (a handover is taken this fast)
CHECK_RETRY = 60.0  # seconds before a store check that could not be made is tried again

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
    store: ArticleStore | None = None,
    behind: Callable[[datetime], int] | None = None,
) -> PollReport | None:
    """Run the poller until ``stop`` is set; with ``once``, poll every feed once (as a one-off,
    outside the ingest group) and return that round's report. A bus that does not acknowledge
    (TransientError) is retried with back-off; the unacknowledged articles stay unseen and are
    published again. ``on_idle`` is called in this thread every ``IDLE_EVERY`` seconds of
    waiting (``newsmon run``: the alert stage's digest clock, which must tick when no article
    arrives). ``store``, when given, is checked against the seen-state; ``behind(t)`` counts the
    records published before ``t`` that the pipeline has yet to consume (the check waits)."""
    poller = FeedPoller(feeds, bus, settings.data_dir / STATE_FILE, settings)
    checks = _Checks(
        StoreCheck(store, poller.state, settings.ingest.store_check_grace, behind)
        if store is not None and settings.ingest.store_check_every > 0
        else None,
        settings.ingest.store_check_every,
    )
    log.info("ingest starting feeds=%d once=%s", len(feeds), once)
    try:
        if once:
            every = {str(f.url) for f in feeds}
            checks.add(every)
            checks.run(poller, every, clock())
            return _run_once(poller, stop, clock)
        ownership = FeedOwnership(poller, bus.member(GROUP, FEEDS_TOPIC), feeds)
        try:
            _run_forever(poller, ownership, checks, stop, clock, on_idle)
        finally:
            ownership.close()
        return None
    finally:
        poller.close()
        log.info("ingest stopped")


class _Checks:
    """When to check the store, and for which feeds: the ones taken over (at start, every
    feed), and every owned feed each ``every`` seconds."""

    def __init__(self, check: StoreCheck | None, every: float) -> None:
        self._check, self._every = check, every
        self._pending: set[str] = set()
        self._next_all = time.monotonic() + every
        self._retry_at = 0.0

    def add(self, urls: Iterable[str]) -> None:
        self._pending.update(urls)

    def run(self, poller: FeedPoller, owned: set[str], now: datetime) -> None:
        if self._check is None:
            return
        mono = time.monotonic()
        if mono >= self._next_all:
            self._pending |= owned
            self._next_all = mono + self._every
        targets = self._pending & owned
        if not targets or mono < self._retry_at:
            return
        lost = self._check.lost(sorted(targets), now)
        if lost is None:
            self._retry_at = mono + CHECK_RETRY
            return
        self._pending -= targets
        if lost:
            poller.resend(lost)


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
    poller: FeedPoller,
    ownership: FeedOwnership,
    checks: _Checks,
    stop: threading.Event,
    clock: Clock,
    on_idle: Callable[[], None] | None,
) -> None:
    backoff = BUS_BACKOFF_START
    while not stop.is_set():
        try:
            checks.add(ownership.sync(0.0, clock()))
            checks.run(poller, ownership.owned, clock())
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
        checks.add(
            _wait(stop, sleep_seconds(poller.next_due(), clock()), on_idle, ownership, clock)
        )


def _wait(
    stop: threading.Event,
    seconds: float,
    on_idle: Callable[[], None] | None,
    ownership: FeedOwnership,
    clock: Clock,
) -> list[str]:
    """Wait ``seconds`` in steps of group syncs; return early with the feeds gained, if any."""
    deadline = time.monotonic() + seconds
    next_idle = time.monotonic() + IDLE_EVERY
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return []
        step = min(SYNC_EVERY, left, IDLE_EVERY if on_idle else SYNC_EVERY)
        try:
            gained = ownership.sync(step, clock())
        except TransientError as exc:
            log.warning("ingest group sync failed error=%r", str(exc))
            stop.wait(step)
            gained = []
        if gained:
            return gained
        if on_idle is not None and time.monotonic() >= next_idle:
            on_idle()
            next_idle = time.monotonic() + IDLE_EVERY
    return []


def sleep_seconds(next_due: datetime, now: datetime) -> float:
    """How long to sleep before the next round (bounded so a stop is noticed promptly)."""
    return max(MIN_SLEEP, min(MAX_SLEEP, (next_due - now).total_seconds()))
