"""When to poll a feed next (pure: takes ``now`` and a jitter, returns a time)."""

from __future__ import annotations

from datetime import datetime, timedelta

from ingest.kinds import LIGHT_ERRORS, ErrorKind

JITTER = 0.10
LIGHT_CAP = 3600.0
HEAVY_CAP = 6 * 3600.0
RETRY_AFTER_CAP = 24 * 3600.0


def backoff_seconds(interval: float, failures: int, kind: ErrorKind | None) -> float:
    """Delay after ``failures`` consecutive failures, the last of kind ``kind``.

    Light failures (timeouts, connection errors, 5xx, 429) wait ``interval * 2**(n-1)`` up to
    an hour; the others (404, 410, parse errors, too large...) ``interval * 2**n`` up to six
    hours. Never less than ``interval``.
    """
    if failures <= 0 or kind is None:
        return interval
    light = kind in LIGHT_ERRORS
    exponent = min(failures - 1 if light else failures, 30)
    cap = LIGHT_CAP if light else HEAVY_CAP
    return max(interval, min(cap, interval * 2.0**exponent))


def next_poll(
    now: datetime,
    interval: float,
    *,
    failures: int = 0,
    kind: ErrorKind | None = None,
    retry_after: float | None = None,
    jitter: float = 0.0,
) -> datetime:
    """The next poll time: ``interval`` after a success, backed off after failures, never
    before a server's Retry-After; ``jitter`` in [-1, 1] spreads it by up to ±10%."""
    delay = backoff_seconds(interval, failures, kind)
    delay *= 1.0 + JITTER * max(-1.0, min(1.0, jitter))
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return now + timedelta(seconds=delay)
