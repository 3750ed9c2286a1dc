"""Search shortcuts composed into one Lucene query string (pure: the same on every store).

In the core because ``newsmon search``/``stats`` (the index stage's commands) and the analyst
page (``newsmon web``: facet links, actor and story pages) compose queries the same way.

``newsmon search 'ceasefire' --since 7d --topic peace_talks --actor "Vladimir Putin"`` becomes::

    (ceasefire) AND topic:"peace_talks" AND actor:"Vladimir Putin"
        AND published:[2025-05-03T12:00:00.000Z TO *]

The window is an absolute UTC bound computed from ``now`` here, not ``now-7d`` date math, so
every store evaluates the same instant (and SQLite can use its ``published`` column).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from newsmon.query import QueryError

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MATCH_ALL = "*:*"


def parse_since(value: str, now: datetime) -> datetime:
    """``24h``, ``7d``, ``30m``, ``2w`` before ``now``; or an ISO date / date-time (UTC unless
    it carries an offset). Raises QueryError."""
    if m := _RELATIVE.match(value):
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise QueryError(f"--since {value!r}: expected e.g. 24h, 7d, 2025-05-01") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def quote(value: str) -> str:
    """A Lucene phrase holding ``value`` exactly."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lucene_date(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def compose_query(
    query: str | None,
    *,
    since: datetime | None = None,
    topics: Sequence[str] = (),
    actors: Sequence[str] = (),
) -> str:
    """The user's query AND each shortcut; ``*:*`` when nothing is given."""
    q = (query or "").strip()
    extra = [f"topic:{quote(t)}" for t in topics] + [f"actor:{quote(a)}" for a in actors]
    if since is not None:
        extra.append(f"published:[{lucene_date(since)} TO *]")
    if not extra:
        return q or MATCH_ALL
    user = [f"({q})"] if q and q not in ("*", MATCH_ALL) else []
    return " AND ".join(user + extra)
