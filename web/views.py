"""What the templates show, computed from store answers (pure: data and ``now`` in, data out)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from markupsafe import Markup, escape

from newsmon.aggregations import Period, filled, roll_up

#: Elasticsearch's ``index.max_result_window``: pages go no deeper on any store.
RESULT_WINDOW = 10_000
PER_PAGE_CHOICES = (20, 50, 100)
SPARK_MIN_DAYS = 14


@dataclass(frozen=True)
class Pager:
    page: int
    per: int
    total: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per

    @property
    def pages(self) -> int:
        """Pages reachable (the result window caps deep paging on every store)."""
        return max(1, math.ceil(min(self.total, RESULT_WINDOW) / self.per))

    @property
    def capped(self) -> bool:
        return self.total > RESULT_WINDOW

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.per, self.total)

    def window(self, width: int = 2) -> list[int | None]:
        """Page numbers around the current one, with None for a gap: 1 … 4 5 [6] 7 8 … 20."""
        shown = {1, self.pages, *range(self.page - width, self.page + width + 1)}
        out: list[int | None] = []
        for n in sorted(p for p in shown if 1 <= p <= self.pages):
            previous = out[-1] if out else None
            if previous is not None and n - previous > 1:
                out.append(None)
            out.append(n)
        return out


def pager(page: str | None, per: str | None, total: int) -> Pager:
    """A valid page for ``total`` hits from untrusted parameters."""
    size = int(per) if per and per.isdigit() and int(per) in PER_PAGE_CHOICES else 20
    number = int(page) if page and page.isdigit() and int(page) > 0 else 1
    limit = max(1, math.ceil(min(total, RESULT_WINDOW) / size))
    return Pager(min(number, limit), size, total)


def period_for(first: datetime, last: datetime) -> Period:
    """The chart period for a span: hours up to 3 days, days up to 3 months, weeks up to
    18 months, then months (a year of data is 52 weekly points: readable bars)."""
    span = last - first
    if span <= timedelta(days=3):
        return "hour"
    if span <= timedelta(days=92):
        return "day"
    if span <= timedelta(days=548):
        return "week"
    return "month"


def series(buckets: Sequence[tuple[datetime, int]], period: Period) -> list[tuple[datetime, int]]:
    """Hour or day buckets as a continuous series of ``period`` (empty periods 0)."""
    return filled(roll_up(buckets, period), period)


def chart(
    points: Sequence[tuple[datetime, int]], period: Period, label: str, *, cumulative: bool = False
) -> dict[str, Any]:
    """The JSON the page's chart script draws (uPlot: seconds and values)."""
    values = [n for _, n in points]
    if cumulative:
        values = [sum(values[: i + 1]) for i in range(len(values))]
    return {
        "x": [int(t.timestamp()) for t, _ in points],
        "y": values,
        "label": label,
        "period": period,
        "bars": not cumulative,
    }


def sparkline(per_day: Sequence[tuple[date, int]], width: int = 120, height: int = 24) -> Markup:
    """An inline SVG of articles per day, from the first day to the last (bars)."""
    if not per_day:
        return Markup("")
    first, last = per_day[0][0], per_day[-1][0]
    days = max((last - first).days + 1, SPARK_MIN_DAYS)  # a one-day story: one thin bar
    counts = dict(per_day)
    top = max(counts.values())
    bar = width / days
    rects = []
    for i in range(days):
        n = counts.get(first + timedelta(days=i), 0)
        if n:
            h = max(1.0, height * n / top)
            rects.append(
                f'<rect x="{i * bar:.1f}" y="{height - h:.1f}" width="{max(bar - 0.5, 0.8):.1f}" '
                f'height="{h:.1f}"><title>{first + timedelta(days=i)}: {n}</title></rect>'
            )
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="articles per day">{"".join(rects)}</svg>'
    )


def highlight(fragment: str) -> Markup:
    """A store's highlight fragment, escaped except for its ``<em>`` marks (neither store
    escapes the article text around them)."""
    safe = str(escape(fragment))
    return Markup(safe.replace("&lt;em&gt;", "<em>").replace("&lt;/em&gt;", "</em>"))


def ago(when: datetime | None, now: datetime) -> str:
    """``5 min ago``, ``3 h ago``, ``2 d ago``; ``in 4 min`` for the future."""
    if when is None:
        return "never"
    seconds = (now - when).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            text = f"{int(seconds // size)} {unit}"
            break
    else:
        text = f"{int(seconds)} s"
    return f"in {text}" if future else f"{text} ago"


def parse_time(value: Any) -> datetime | None:
    """An ISO timestamp from a document or ledger entry as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


CSV_COLUMNS = (
    "published",
    "title",
    "source",
    "lang",
    "url",
    "actor",
    "topic",
    "place",
    "story_id",
    "article_id",
)


def csv_cell(value: Any) -> str:
    """One cell: lists joined by ``; ``; a text that a spreadsheet would run as a formula
    (``=``, ``+``, ``-``, ``@``, tab, CR first) is prefixed with ``'`` (OWASP CSV injection)."""
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(hits: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for hit in hits:
        writer.writerow([csv_cell(hit.get(c)) for c in CSV_COLUMNS])
    return out.getvalue()


def redact_url(url: str) -> str:
    """A store URL fit for the page: no credentials."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path}"
