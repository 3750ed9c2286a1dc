"""When to poll a feed next (pure: takes ``now`` and a jitter, returns times and intervals).

After a success the feed's *interval* adapts to what recent polls found, within bounds: most
items new (we may be missing some between polls) → poll sooner; nothing new for a few polls →
poll later. The feed's own hints are floors ("do not ask again before"): RSS ``<ttl>``,
``sy:updatePeriod``/``sy:updateFrequency``, ``Cache-Control: max-age`` and ``Expires``, each
capped at the upper bound so a feed cannot silence itself for a week. After a failure the base
interval backs off by failure weight; ``Retry-After`` (429/503) is honoured up to a day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from ingest.kinds import LIGHT_ERRORS, ErrorKind

JITTER = 0.10
LIGHT_CAP = 3600.0
HEAVY_CAP = 6 * 3600.0
RETRY_AFTER_CAP = 24 * 3600.0
HISTORY = 5  # polls remembered per feed for the adaptive interval
QUIET_POLLS = 3  # this many polls in a row without a new item → slow down
SPEED_UP, SLOW_DOWN = 0.67, 1.5
BUSY_SHARE = 0.5  # at least this share of listed items new → speed up
SY_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)

#: One remembered poll: (new items, items listed). A 304 is (0, 0).
Poll = tuple[int, int]


@dataclass(frozen=True)
class Bounds:
    """Where the adaptive interval may go; an operator's own interval always fits inside."""

    min_interval: float
    max_interval: float

    def around(self, base: float) -> tuple[float, float]:
        return min(base, self.min_interval), max(base, self.max_interval)


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


def adapt_interval(current: float, history: Sequence[Poll], lower: float, upper: float) -> float:
    """The interval after the polls in ``history`` (oldest first), clamped to the bounds."""
    recent = list(history[-QUIET_POLLS:])
    new, listed = sum(n for n, _ in recent), sum(e for _, e in recent)
    if len(recent) >= QUIET_POLLS and new == 0:
        current *= SLOW_DOWN
    elif recent and listed and recent[-1][0] and new / listed >= BUSY_SHARE:
        current *= SPEED_UP
    return max(lower, min(upper, current))


def feed_hint_seconds(
    ttl: str | None, period: str | None = None, frequency: str | None = None
) -> float | None:
    """The longest "do not poll before" a feed document declares: RSS ``<ttl>`` (minutes) or
    ``sy:updatePeriod`` / ``sy:updateFrequency``; None if it declares none we can read."""
    hints: list[float] = []
    if ttl and ttl.strip().isdigit() and int(ttl) > 0:
        hints.append(int(ttl) * 60.0)
    span = SY_PERIODS.get((period or "").strip().lower())
    if span is not None:
        times = (frequency or "1").strip()
        hints.append(span / max(1, int(times)) if times.isdigit() else span)
    return max(hints, default=None)


def http_hint_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """Freshness lifetime from ``Cache-Control: max-age`` (else ``Expires`` against the
    response's ``Date``); None when absent, ``no-cache``/``no-store``, or already stale."""
    control = headers.get("cache-control", "")
    if re.search(r"no-store|no-cache", control, re.IGNORECASE):
        return None
    found = _MAX_AGE.search(control)
    if found:
        return float(found.group(1)) or None
    expires, sent = _http_date(headers.get("expires")), _http_date(headers.get("date"))
    if expires is None:
        return None
    lifetime = (expires - (sent or now)).total_seconds()
    return lifetime if lifetime > 0 else None


def success_delay(interval: float, hint: float | None, upper: float) -> float:
    """Seconds until the next poll after a success: the interval, or the feed's hint if
    longer, but never past the upper bound."""
    return interval if hint is None else max(interval, min(hint, upper))


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
