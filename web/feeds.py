"""The feeds page: each feed's health as ``newsmon feeds status`` reports it, plus how many of
its articles the store holds (``feed:"URL"``, the field the poller stamps on every article)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from newsmon.feedstatus import STATE_FILE, status_rows
from newsmon.query.analysis import lowercase
from web.context import Page
from web.queries import field_is
from web.views import parse_time

#: A feed's state, worst first (the page's order). Health signals are the poller's
#: (``ingest.health``): answered by a bot wall, a web page, 403/429 storms, one link for every
#: item, or silent against its own rhythm.
ORDER = {
    "failing": 0,
    "gone": 1,
    "challenge": 2,
    "blocked": 3,
    "html": 4,
    "same link": 5,
    "silent": 6,
    "stale": 7,
    "never polled": 8,
    "ok": 9,
}


def state(row: dict[str, Any]) -> str:
    """One word for a feed, the worst that applies."""
    if row["gone"]:
        return "gone"
    if row["failures"]:
        return "failing"
    signals = [str(s).replace("_", " ") for s in row.get("health") or {}]
    known = sorted((s for s in signals if s in ORDER), key=ORDER.__getitem__)
    if known:
        return known[0]
    if row["stale"]:
        return "stale"
    if not row["last_polled"]:
        return "never polled"
    return "ok"


def feeds_page(request: Request) -> Response:
    page = Page(request, "feeds")
    settings = page.wb.settings
    no_rows: list[dict[str, Any]] = []
    rows = page.config("feeds", lambda: status_rows(settings, page.now), no_rows)
    counts = page.attempt(
        "articles per feed",
        lambda s: dict(
            s.aggregate("*:*", terms={"feed": max(len(rows), 1) * 2 + 50}).terms["feed"]
        ),
        None,
    )
    feeds = sorted(
        (_view(r, counts) for r in rows),
        key=lambda f: (ORDER[f["state"]], f["row"]["name"].lower()),
    )
    summary = {s: sum(1 for f in feeds if f["state"] == s) for s in ORDER}
    return page.render(
        "feeds.html",
        feeds=feeds,
        summary=summary,
        state_file=str(settings.data_dir / STATE_FILE),
        has_state=(settings.data_dir / STATE_FILE).exists(),
        feeds_file=str(settings.feeds) if settings.feeds else None,
        stale_factor=settings.ingest.stale_factor,
    )


def _view(row: dict[str, Any], counts: dict[str, int] | None) -> dict[str, Any]:
    times = {
        k: _time(row.get(k))
        for k in ("last_success", "last_polled", "next_poll", "last_new_item", "resumed")
    }
    stored = None if counts is None else counts.get(lowercase(row["url"]), 0)
    health = [
        {
            "signal": str(name).replace("_", " "),
            "since": _time((info or {}).get("since")),
            "detail": (info or {}).get("detail", ""),
        }
        for name, info in (row.get("health") or {}).items()
    ]
    return {
        "row": row,
        "state": state(row),
        "times": times,
        "stored": stored,
        "q": field_is("feed", row["url"]),
        "health": health,
    }


def _time(value: Any) -> datetime | None:
    when = parse_time(value)
    return when.astimezone(UTC) if when else None
