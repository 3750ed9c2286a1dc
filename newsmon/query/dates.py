"""Dates as an Elasticsearch ``date`` field reads them, in epoch milliseconds (UTC).

Format ``strict_date_optional_time||epoch_millis`` (the mapping default) and date math
(``now-7d/d``, ``2025-05-01||+1M``), with Elasticsearch's rounding rules for range bounds:

* a bound that *rounds up* (``lte``/``]`` upper, ``gt``/``{`` lower) fills missing parts with
  month 01, day 01, 23:59:59.999 — so ``lte 2025-05-31`` includes that whole day, but
  ``lte 2025-05`` ends on 2025-05-01T23:59:59.999 (month and day are *not* pushed to the end);
* a bound that rounds down fills with 01, 01, 00:00:00.000;
* ``/d`` (``/y /M /w /h /m /s``) rounds to the start of the unit, or to its last millisecond
  when rounding up; date math on an explicit date (``x||...``) parses ``x`` without rounding;
* a plain date as a term (``published:2025-05-01``) is the range ``[x TO x]``: that whole day.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from newsmon.query.errors import QueryError

_DATE = re.compile(
    r"(?P<y>\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})(?:T(?P<h>\d{2})(?::(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?"
)
_EPOCH = re.compile(r"-?\d+(?:\.\d+)?")
_MATH = re.compile(r"([+\-/])(\d*)([yMwdhHms])")
_EPOCH0 = datetime(1970, 1, 1, tzinfo=UTC)


def _to_millis(dt: datetime) -> int:
    delta = dt - _EPOCH0
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _from_millis(ms: int) -> datetime:
    return _EPOCH0 + timedelta(milliseconds=ms)


def _zone(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_date(text: str, *, round_up: bool = False) -> int:
    """Epoch millis of a ``strict_date_optional_time`` or ``epoch_millis`` value."""
    m = _DATE.fullmatch(text)
    if m is None:
        if _EPOCH.fullmatch(text):
            return int(float(text))
        raise ValueError(f"cannot parse date {text!r}")
    g = m.groupdict()
    fill = (23, 59, 59, 999_999_999) if round_up else (0, 0, 0, 0)
    nanos = int(g["f"].ljust(9, "0")) if g["f"] else fill[3]
    dt = datetime(
        int(g["y"]),
        int(g["mo"] or 1),
        int(g["d"] or 1),
        fill[0] if g["h"] is None else int(g["h"]),
        fill[1] if g["mi"] is None else int(g["mi"]),
        fill[2] if g["s"] is None else int(g["s"]),
        tzinfo=_zone(g["z"]),
    )
    return _to_millis(dt) + nanos // 1_000_000


def _add_months(dt: datetime, months: int) -> datetime:
    """Java ``plusMonths``: the day is clamped to the last day of the target month."""
    total = dt.year * 12 + dt.month - 1 + months
    year, month = divmod(total, 12)
    day = min(dt.day, calendar.monthrange(year, month + 1)[1])
    return dt.replace(year=year, month=month + 1, day=day)


_FIXED = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "H": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}


def _add(dt: datetime, unit: str, n: int) -> datetime:
    if unit == "y":
        return _add_months(dt, 12 * n)
    if unit == "M":
        return _add_months(dt, n)
    return dt + _FIXED[unit] * n


def _floor(dt: datetime, unit: str) -> datetime:
    midnight = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    floors = {
        "y": lambda: midnight.replace(month=1, day=1),
        "M": lambda: midnight.replace(day=1),
        "w": lambda: midnight - timedelta(days=midnight.weekday()),
        "d": lambda: midnight,
        "h": lambda: dt.replace(minute=0, second=0, microsecond=0),
        "m": lambda: dt.replace(second=0, microsecond=0),
        "s": lambda: dt.replace(microsecond=0),
    }
    return floors["h" if unit == "H" else unit]()


def _apply_math(ms: int, math: str, round_up: bool) -> int:
    dt = _from_millis(ms)
    pos = 0
    while pos < len(math):
        m = _MATH.match(math, pos)
        if m is None:
            raise ValueError(f"bad date math {math!r}")
        op, digits, unit = m.groups()
        if op == "/":
            if digits not in ("", "1"):
                raise ValueError(f"rounding '/' takes a single unit: {math!r}")
            dt = _floor(dt, unit)
            if round_up:
                dt = _add(dt, unit, 1) - timedelta(milliseconds=1)
        else:
            dt = _add(dt, unit, int(digits or 1) * (-1 if op == "-" else 1))
        pos = m.end()
    return _to_millis(dt)


@dataclass(frozen=True)
class DateBound:
    """One side of a date range, resolved against ``now`` (epoch millis) when it uses it."""

    text: str
    round_up: bool

    @property
    def uses_now(self) -> bool:
        return self.text.startswith("now")

    def millis(self, now_ms: int) -> int:
        text = self.text
        if text.startswith("now"):
            return _apply_math(now_ms, text[3:], self.round_up)
        if "||" in text:
            anchor, math = text.split("||", 1)
            return _apply_math(parse_date(anchor), math, self.round_up)
        return parse_date(text, round_up=self.round_up)


def date_bound(text: str, *, round_up: bool, pos: int) -> DateBound:
    """A validated bound; raises :class:`QueryError` for text the date field cannot parse."""
    bound = DateBound(text, round_up)
    try:
        bound.millis(0)
    except (ValueError, OverflowError) as exc:
        raise QueryError(
            f"{exc} (expected e.g. 2025-05-01, 2025-05-01T10:00:00Z, now-7d/d)", pos
        ) from None
    return bound


def date_millis(value: Any) -> int | None:
    """A document's date value (aware/naive datetime, date, ISO string, epoch millis) or None."""
    try:
        if isinstance(value, datetime):
            return _to_millis(value if value.tzinfo else value.replace(tzinfo=UTC))
        if isinstance(value, date):
            return _to_millis(datetime(value.year, value.month, value.day, tzinfo=UTC))
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return int(value)
        if isinstance(value, str):
            return parse_date(value.strip())
    except (ValueError, OverflowError):
        return None
    return None


def now_millis(now: datetime) -> int:
    return _to_millis(now if now.tzinfo else now.replace(tzinfo=UTC))
