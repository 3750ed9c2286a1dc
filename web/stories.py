"""Stories, one story, one actor, one article: the pages that group what the search finds.

Each page is one or two ``aggregate`` calls and one ``search`` for a query the page composes
from the id in its URL (``story_id:"…"``, ``actor:"…"``), quoted and parsed like any other, so
its figures are those ``newsmon search`` gives for the query the page names.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from newsmon.aggregations import Aggregations, Period, StoryOrder, StorySummary
from newsmon.query.analysis import lowercase
from newsmon.store import ArticleStore
from web.context import Page
from web.queries import SINCE_CHOICES, check, field_is, refine, with_since
from web.views import RESULT_WINDOW, chart, pager, period_for, series, sparkline

STORIES_SHOWN = 50
STORIES_MAX = 500
PERIODS: tuple[Period, ...] = ("hour", "day", "week", "month")


def stories_page(request: Request) -> Response:
    page = Page(request, "stories")
    params = request.query_params
    q = params.get("q", "")
    since = params.get("since", "") if params.get("since", "") in SINCE_CHOICES else ""
    order: StoryOrder = "size" if params.get("order") == "size" else "recent"
    shown = params.get("shown", "")
    limit = min(int(shown), STORIES_MAX) if shown.isdigit() and int(shown) > 0 else STORIES_SHOWN
    form = {"q": q, "since": since, "order": order}
    problem = check(q)
    if problem is not None:
        return page.render("stories.html", status=400, form=form, problem=problem)
    query = with_since(q, since, page.now)
    aggs = page.attempt(
        "stories", lambda s: s.aggregate(query, stories=limit, story_order=order), None
    )
    rows = [_row(s) for s in aggs.stories] if aggs else []
    more = limit + STORIES_SHOWN if len(rows) == limit and limit < STORIES_MAX else None
    return page.render("stories.html", form=form, query=query, aggs=aggs, stories=rows, more=more)


def _row(story: StorySummary) -> dict[str, Any]:
    return {"story": story, "spark": sparkline(story.per_day)}


def _growth(page: Page, query: str, aggs: Aggregations, cumulative: bool) -> dict[str, Any] | None:
    if not aggs.histogram:
        return None
    wanted = page.request.query_params.get("period")
    period = next((p for p in PERIODS if p == wanted), None) or period_for(
        aggs.histogram[0][0], aggs.histogram[-1][0]
    )
    buckets = aggs.histogram
    if period == "hour":
        hourly = page.attempt("timeline", lambda s: s.aggregate(query, histogram="hour"), None)
        if hourly is None:
            return None
        buckets = hourly.histogram
    points = series(buckets, period)
    label = "articles so far" if cumulative else "articles"
    drawn = chart(points, period, label, cumulative=cumulative) if len(points) > 1 else None
    return {"period": period, "points": points, "chart": drawn}


def story_page(request: Request) -> Response:
    page = Page(request, "stories")
    story_id = request.path_params["story_id"]
    query = field_is("story_id", story_id)
    params = request.query_params
    asked = pager(params.get("page"), params.get("per"), RESULT_WINDOW)  # total not known yet
    facets = {"actor": 15, "source": 25, "topic": 10, "lang": 10}
    aggs, result = page.attempt_both(
        ("story", lambda s: s.aggregate(query, terms=facets, histogram="day", stories=1), None),
        ("articles", lambda s: s.search(query, limit=asked.per, offset=asked.offset), None),
    )
    summary = aggs.stories[0] if aggs and aggs.stories else None
    paging = pager(params.get("page"), params.get("per"), result.total if result else 0)
    if result is not None and paging.page != asked.page:
        result = page.attempt(
            "articles", lambda s: s.search(query, limit=paging.per, offset=paging.offset), None
        )
    status = 404 if aggs is not None and summary is None else 200
    return page.render(
        "story.html",
        status=status,
        story_id=story_id,
        query=query,
        aggs=aggs,
        story=summary,
        growth=_growth(page, query, aggs, cumulative=True) if aggs else None,
        result=result,
        paging=paging,
    )


def actor_page(request: Request) -> Response:
    page = Page(request, "actors")
    name = request.path_params["name"]
    params = request.query_params
    q = params.get("q", "")
    since = params.get("since", "") if params.get("since", "") in SINCE_CHOICES else ""
    form = {"q": q, "since": since, "period": params.get("period", "")}
    problem = check(q)
    if problem is not None:
        return page.render("actor.html", status=400, name=name, form=form, problem=problem)
    query = with_since(refine(q, field_is("actor", name)), since, page.now)
    facets = {"actor": 21, "source": 10, "topic": 10, "lang": 10}
    aggs, latest = page.attempt_both(
        ("actor", lambda s: s.aggregate(query, terms=facets, histogram="day"), None),
        ("articles", lambda s: s.search(query, limit=10), None),
    )
    shown = _display_name(name, aggs)
    others = [
        (a, n) for a, n in (aggs.terms["actor"] if aggs else []) if lowercase(a) != lowercase(name)
    ][:20]
    return page.render(
        "actor.html",
        name=shown,
        form=form,
        query=query,
        aggs=aggs,
        mentions=_growth(page, query, aggs, cumulative=False) if aggs else None,
        co_mentions=[
            {"actor": a, "count": n, "q": refine(query, field_is("actor", a))} for a, n in others
        ],
        latest=latest,
        periods=PERIODS,
    )


def _display_name(name: str, aggs: Aggregations | None) -> str:
    """The actor's name as written in the articles (the URL may differ in case)."""
    for value, _ in aggs.terms.get("actor", []) if aggs else []:
        if lowercase(value) == lowercase(name):
            return value
    return name


def article_page(request: Request) -> Response:
    page = Page(request, "search")
    article_id = request.path_params["article_id"]

    def get(store: ArticleStore) -> dict[str, Any] | None:
        return store.get(article_id)

    doc = page.attempt("article", get, None)
    status = 404 if doc is None and not page.store_down else 200
    paragraphs = [p for p in str((doc or {}).get("text", "")).split("\n") if p.strip()]
    return page.render(
        "article.html", status=status, article_id=article_id, doc=doc, paragraphs=paragraphs
    )
