"""Digest periods in a rule's time zone (pure: every function takes ``now``).

Schedules (validated by :class:`~newsmon.config.RuleConfig`): ``30m`` / ``2h`` — periods of
that length from local midnight (the length divides a day); ``hourly`` = ``1h``; ``daily`` —
local midnight to midnight; ``daily HH:MM`` — a day ending at HH:MM local time. Periods are
computed on local wall-clock time, so a DST change gives one period of 23 or 25 hours (daily)
or a repeated / skipped local hour (hourly): never a lost or double-sent digest, because a
period is named by its UTC start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    start: datetime  # UTC
    end: datetime  # UTC, exclusive

    @property
    def key(self) -> str:
        """The period's name in the ledger: its UTC start."""
        return self.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _minutes(schedule: str) -> int | None:
    if schedule == "hourly":
        return 60
    if schedule[-1] in "mh" and schedule[:-1].isdigit():
        return int(schedule[:-1]) * (60 if schedule[-1] == "h" else 1)
    return None


def _local(day: datetime, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day.date(), at, tzinfo=tz).astimezone(UTC)


def period_of(schedule: str, tz: ZoneInfo, when: datetime) -> Period:
    """The digest period that contains ``when`` (timezone-aware)."""
    local = when.astimezone(tz)
    minutes = _minutes(schedule)
    if minutes is not None:
        since_midnight = local.hour * 60 + local.minute
        start_min = since_midnight - since_midnight % minutes
        start = _local(local, time(start_min // 60, start_min % 60), tz)
        end_min = start_min + minutes
        if end_min >= 1440:
            end = _local(local + timedelta(days=1), time(0, 0), tz)
        else:
            end = _local(local, time(end_min // 60, end_min % 60), tz)
        return Period(start, end)
    at = time(0, 0)
    if schedule.startswith("daily "):
        hh, mm = schedule.removeprefix("daily ").split(":")
        at = time(int(hh), int(mm))
    boundary = _local(local, at, tz)
    if when.astimezone(UTC) >= boundary:
        return Period(boundary, _local(local + timedelta(days=1), at, tz))
    return Period(_local(local - timedelta(days=1), at, tz), boundary)


def previous_period(schedule: str, tz: ZoneInfo, now: datetime) -> Period:
    """The last period that ended at or before ``now``."""
    current = period_of(schedule, tz, now)
    return period_of(schedule, tz, current.start - timedelta(seconds=1))
