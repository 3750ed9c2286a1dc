"""The analyst workbench as an ASGI application (Starlette), built from :class:`Settings`.

Pages are rendered on the server (Jinja2, autoescaped); the only script is the package's own
(``static/app.js``: charts with the vendored uPlot), so every page works and reads without
it. Handlers that read the store are plain functions, run on the workbench's own threads
(:func:`pooled`; the stores are blocking clients). Only a Host this server answers to is
accepted (:class:`TrustedHostMiddleware`: a page bound to loopback cannot be reached through
another name by DNS rebinding); every response carries :data:`web.security.HEADERS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsmon.config import Settings
from newsmon.errors import NewsmonError
from newsmon.query.compose import quote
from newsmon.store import ArticleStore
from web import alerts, feeds, search, stories
from web.actions import login_action, login_page, logout_action
from web.context import Page, Workbench
from web.security import HEADERS
from web.views import ago, highlight, sparkline

STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]", "::1"]


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["highlight"] = highlight
    env.filters["when"] = _when
    env.filters["day"] = lambda d: d.strftime("%Y-%m-%d") if d else ""
    env.filters["num"] = lambda n: f"{n:,}"
    env.filters["timestamp"] = _timestamp
    env.filters["period_label"] = period_label
    env.globals["ago"] = ago
    env.globals["sparkline"] = sparkline
    env.globals["quote"] = quote
    return env


_PERIOD_FORMATS = {
    "hour": "%Y-%m-%d %H:00",
    "day": "%Y-%m-%d",
    "week": "week of %Y-%m-%d",
    "month": "%B %Y",
}


def period_label(start: datetime, period: str) -> str:
    return start.strftime(_PERIOD_FORMATS.get(period, "%Y-%m-%d"))


def _timestamp(seconds: int, period: str) -> str:
    return period_label(datetime.fromtimestamp(seconds, UTC), period)


def _when(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    from web.views import parse_time

    when = parse_time(value) if not isinstance(value, datetime) else value
    return when.strftime(fmt) + " UTC" if when else ""


class SecurityHeaders:
    """Adds :data:`HEADERS` to every HTTP response (pure ASGI: no buffering of bodies)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in have
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def allowed_hosts(settings: Settings) -> list[str]:
    """Names the server answers to: loopback names, plus the bind address; any host when
    bound to every interface (then the operator chose to expose it)."""
    if settings.web_host in ("0.0.0.0", "::", ""):
        return ["*"]
    return [*LOOPBACK_NAMES, settings.web_host]


def healthz(request: Request) -> Response:
    wb: Workbench = request.app.state.workbench
    try:
        wb.store().check()
    except NewsmonError as exc:
        return PlainTextResponse(f"store unreachable: {exc}\n", status_code=503)
    return PlainTextResponse("ok\n")


def not_found(request: Request, exc: Exception) -> Response:
    return Page(request, "").render(
        "message.html", status=404, title="Not found", message="There is no page at this address."
    )


def server_error(request: Request, exc: Exception) -> Response:
    """A bug, logged with its trace by the server; the user gets a sentence, not the trace."""
    return Page(request, "").render(
        "message.html",
        status=500,
        title="Something broke",
        message="The page failed; the server log has the details.",
    )


def pooled(page: Callable[[Request], Response]) -> Callable[[Request], Awaitable[Response]]:
    """A page handler (blocking: it reads the store) run on the workbench's threads."""

    async def endpoint(request: Request) -> Response:
        response: Response = await request.app.state.workbench.run(page, request)
        return response

    endpoint.__name__ = page.__name__
    return endpoint


def routes() -> list[Any]:
    return [
        Route("/", lambda request: RedirectResponse("/search", status_code=307)),
        Route("/search", pooled(search.search_page)),
        Route("/export.{fmt:str}", pooled(search.export)),
        Route("/stories", pooled(stories.stories_page)),
        Route("/story/{story_id:str}", pooled(stories.story_page)),
        Route("/actor/{name:path}", pooled(stories.actor_page)),
        Route("/article/{article_id:str}", pooled(stories.article_page)),
        Route("/alerts", pooled(alerts.alerts_page)),
        Route("/alerts/silence", alerts.silence_action, methods=["POST"]),
        Route("/alerts/unsilence", alerts.unsilence_action, methods=["POST"]),
        Route("/alerts/query", alerts.query_action, methods=["POST"]),
        Route("/feeds", pooled(feeds.feeds_page)),
        Route("/login", login_page),
        Route("/login", login_action, methods=["POST"]),
        Route("/logout", logout_action, methods=["POST"]),
        Route("/healthz", pooled(healthz)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def create_app(
    settings: Settings,
    *,
    store: ArticleStore | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The application; ``store``/``clock`` replace the configured ones (tests)."""
    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings)),
        ],
        exception_handlers={404: not_found, 500: server_error},
    )
    app.state.workbench = Workbench(settings, templates(), store=store, clock=clock)
    return app
