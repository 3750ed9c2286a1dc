"""The search page and its exports: the query language of ``newsmon search``, with facets.

The count a page shows is ``SearchResult.total`` of the store's ``search`` for the effective
query (the box, plus ``published:[… TO *]`` when a window is chosen — the same clause
``newsmon search --since`` adds), so it equals the number of lines ``newsmon search QUERY
--json --limit N`` prints for that query. Facet counts come from the store's ``aggregate`` for
the same query: clicking a value ANDs ``field:"value"`` onto the box and shows that many hits.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from newsmon.aggregations import Aggregations, Period
from newsmon.store import ArticleStore, SearchResult, Sort
from web.context import Page
from web.queries import (
    SINCE_CHOICES,
    check,
    effective,
    field_is,
    period_range,
    refine,
    with_since,
)
from web.views import RESULT_WINDOW, Pager, chart, csv_text, pager, period_for, series

FACETS = {"topic": 10, "actor": 15, "source": 10, "lang": 10}
FACET_TITLES = {"topic": "Topic", "actor": "Actor", "source": "Source", "lang": "Language"}
EXPORT_MAX = 10_000
DATE_BUCKETS_LISTED = 12


def _sort(value: str | None) -> Sort:
    return "relevance" if value == "relevance" else "published"


def _since(value: str | None) -> str:
    return value if value in SINCE_CHOICES else ""


def search_page(request: Request) -> Response:
    page = Page(request, "search")
    params = request.query_params
    q, sort, since = params.get("q", ""), _sort(params.get("sort")), _since(params.get("since"))
    form = {"q": q, "sort": sort, "since": since}
    problem = check(q)
    if problem is not None:
        return page.render("search.html", status=400, form=form, problem=problem)
    query = with_since(q, since, page.now)
    asked = pager(params.get("page"), params.get("per"), RESULT_WINDOW)  # total not known yet

    def articles(store: ArticleStore, paging: Pager = asked) -> SearchResult:
        return store.search(
            query, limit=paging.per, offset=paging.offset, sort=sort, highlight=True
        )

    aggs, result = page.attempt_both(
        ("facets", lambda s: s.aggregate(query, terms=FACETS, histogram="day"), None),
        ("articles", articles, None),
    )
    paging = pager(params.get("page"), params.get("per"), result.total if result else 0)
    if result is not None and paging.page != asked.page:  # past the last page: the last one
        result = page.attempt("articles", lambda s: articles(s, paging), None)
    timeline = _timeline(page, query, aggs) if aggs is not None else None
    return page.render(
        "search.html",
        form=form,
        query=query,
        result=result,
        hits=_hits(result),
        paging=paging,
        facets=_facets(q, aggs),
        timeline=timeline,
        dates=_date_links(q, timeline),
    )


def _hits(result: SearchResult | None) -> list[dict[str, Any]]:
    if result is None:
        return []
    marks = result.highlights or [{} for _ in result.hits]
    return [{"doc": hit, "marks": mark} for hit, mark in zip(result.hits, marks, strict=True)]


def _facets(q: str, aggs: Aggregations | None) -> list[dict[str, Any]]:
    if aggs is None:
        return []
    out = []
    for name, values in aggs.terms.items():
        top = max((n for _, n in values), default=0)
        out.append(
            {
                "name": name,
                "title": FACET_TITLES[name],
                "values": [
                    {"value": v, "count": n, "top": top, "q": refine(q, field_is(name, v))}
                    for v, n in values
                ],
            }
        )
    return out


def _timeline(page: Page, query: str, aggs: Aggregations) -> dict[str, Any] | None:
    """The matches over time, in the period that suits their span (hours: a second call)."""
    if not aggs.histogram:
        return None
    period: Period = period_for(aggs.histogram[0][0], aggs.histogram[-1][0])
    buckets = aggs.histogram
    if period == "hour":
        hourly = page.attempt("timeline", lambda s: s.aggregate(query, histogram="hour"), None)
        if hourly is None:
            return None
        buckets = hourly.histogram
    points = series(buckets, period)
    drawn = chart(points, period, "articles matching") if len(points) > 1 else None
    return {"period": period, "points": points, "chart": drawn}


def _date_links(q: str, timeline: dict[str, Any] | None) -> list[dict[str, Any]]:
    if timeline is None:
        return []
    period: Period = timeline["period"]
    points: list[tuple[datetime, int]] = [p for p in timeline["points"] if p[1]]
    return [
        {"start": start, "count": n, "period": period, "q": refine(q, period_range(start, period))}
        for start, n in reversed(points[-DATE_BUCKETS_LISTED:])
    ]


def export(request: Request) -> Response:
    """``/export.csv`` or ``/export.json``: the articles of the query, newest first (at most
    :data:`EXPORT_MAX`; the JSON says how many matched in all)."""
    params = request.query_params
    fmt = request.path_params["fmt"]
    if fmt not in ("csv", "json"):
        return PlainTextResponse("exports: /export.csv or /export.json\n", status_code=404)
    q, sort, since = params.get("q", ""), _sort(params.get("sort")), _since(params.get("since"))
    problem = check(q)
    if problem is not None:
        return PlainTextResponse(f"bad query: {problem.message}\n", status_code=400)
    page = Page(request, "export")
    query = with_since(q, since, page.now)
    result = page.attempt("export", lambda s: s.search(query, limit=EXPORT_MAX, sort=sort), None)
    if result is None:
        text = page.banners[0].text if page.banners else "the store cannot be reached"
        return PlainTextResponse(text + "\n", status_code=503)
    stamp = page.now.strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "content-disposition": f'attachment; filename="newsmon-{stamp}.{fmt}"',
        "x-newsmon-total": str(result.total),
    }
    if fmt == "csv":
        return Response(
            csv_text(result.hits), media_type="text/csv; charset=utf-8", headers=headers
        )
    body = {
        "query": effective(query),
        "total": result.total,
        "exported": len(result.hits),
        "truncated": result.total > len(result.hits),
        "articles": result.hits,
    }
    return Response(
        json.dumps(body, ensure_ascii=False, default=str),
        media_type="application/json",
        headers=headers,
    )
