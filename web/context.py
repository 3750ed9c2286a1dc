"""The server's shared state (:class:`Workbench`) and one page being built (:class:`Page`).

Pages run on the workbench's own threads (:attr:`Workbench.pool`), a fixed set that lives as
long as the server, so each keeps one store connection with a warm cache. A page never fails
because a part of the system is down: each call to the store goes through
:meth:`Page.attempt`, which turns an unreachable store (``TransientError``) or a broken file
(``ConfigError``) into a banner at the top of the page and an empty part below it. Once the
store failed during a request, later calls of that request skip it (one timeout per page, not
one per panel). The store itself is opened on first use and reopened after a failure to open,
so a server started while Elasticsearch is down recovers without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse

from newsmon.config import RuleConfig, Settings, load_rules
from newsmon.errors import ConfigError, NewsmonError, TransientError
from newsmon.query import QueryError
from newsmon.security import read_secret
from newsmon.store import ArticleStore
from newsmon.wiring import make_store
from web.security import LOGIN_COOKIE, SESSION_COOKIE, Guard
from web.views import redact_url

log = logging.getLogger(__name__)
T = TypeVar("T")
U = TypeVar("U")
WORKERS = 8  # pages served at once; more wait (the store does the work; 2 cores)


class Workbench:
    """Settings, the store (opened lazily), the sign-in guard and the clock of one server."""

    def __init__(
        self,
        settings: Settings,
        templates: Environment,
        *,
        store: ArticleStore | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.templates = templates
        self.guard = Guard(read_secret(settings.web_token, settings.web_token_file, "WEB_TOKEN"))
        self.clock = clock or (lambda: datetime.now(UTC))
        self.store_label = redact_url(settings.store)
        # the pages' own worker threads, kept for the server's life: each holds its store
        # connection (and its warm cache) instead of one per short-lived thread
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="web")
        # a page's second store call runs here while the first runs on the page's thread
        # (SQLite and the HTTP client release the GIL: two cores); a separate pool, so a page
        # never waits for a thread that another page holds
        self.helpers = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="web-help")
        self._store = store
        self._owned = store is None
        self._lock = threading.Lock()

    def store(self) -> ArticleStore:
        with self._lock:
            if self._store is None:
                self._store = make_store(self.settings)
            return self._store

    def rules(self) -> list[RuleConfig]:
        """The rules file as the alert service loads it (read on every request: edits show)."""
        if self.settings.rules is None:
            return []
        return load_rules(self.settings.rules)

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` on the pages' threads (the stores are blocking clients)."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, work, *args)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.helpers.shutdown(wait=True)
        with self._lock:
            store, self._store = self._store, None
        if store is not None and self._owned:
            store.close()


@dataclass(frozen=True)
class Banner:
    level: str  # "error" | "warning" | "info"
    text: str


class Page:
    """One response being built: banners, store access, the template context."""

    def __init__(self, request: Request, section: str) -> None:
        self.request = request
        self.wb: Workbench = request.app.state.workbench
        self.section = section
        self.banners: list[Banner] = []
        self.store_down = False
        self._lock = threading.Lock()
        self.now = self.wb.clock()
        self.started = time.perf_counter()

    def banner(self, level: str, text: str) -> None:
        if all(b.text != text for b in self.banners):
            self.banners.append(Banner(level, text))

    def attempt(self, what: str, call: Callable[[ArticleStore], T], default: T) -> T:
        """``call(store)``, or ``default`` with a banner when the store is unreachable."""
        if self.store_down:
            return default
        try:
            return call(self.wb.store())
        except TransientError as exc:
            log.warning("web: store unreachable while reading %s: %s", what, exc)
            if self._went_down():
                self.banner(
                    "error",
                    f"The store ({self.wb.store_label}) cannot be reached: {exc}. "
                    "What depends on it is missing below; reload to retry.",
                )
        except ConfigError as exc:
            if self._went_down():
                self.banner("error", f"The store ({self.wb.store_label}) is not usable: {exc}")
        except QueryError as exc:  # the parser accepted it, the store did not
            self.banner("error", f"The store refused the query: {exc}")
        return default

    def _went_down(self) -> bool:
        """Mark the store down; True for the first call that found it so (one banner)."""
        with self._lock:
            first, self.store_down = not self.store_down, True
        return first

    def attempt_both(
        self,
        first: tuple[str, Callable[[ArticleStore], T], T],
        second: tuple[str, Callable[[ArticleStore], U], U],
    ) -> tuple[T, U]:
        """Two :meth:`attempt` calls at once (the second on a helper thread)."""
        what, call, default = second
        later: Future[U] = self.wb.helpers.submit(self.attempt, what, call, default)
        return self.attempt(*first), later.result()

    def config(self, what: str, call: Callable[[], T], default: T) -> T:
        """``call()`` reading a configured file (rules, feeds, poller state)."""
        try:
            return call()
        except TransientError as exc:
            self.banner("warning", f"{what}: {exc}")
        except NewsmonError as exc:
            self.banner("error", f"{what}: {exc}")
        return default

    @property
    def signed_in(self) -> bool:
        cookie = self.request.cookies.get(SESSION_COOKIE)
        return self.wb.guard.session_valid(cookie, time.time())

    def csrf(self) -> str:
        cookie = self.request.cookies.get(SESSION_COOKIE) or self.request.cookies.get(
            LOGIN_COOKIE, ""
        )
        return self.wb.guard.csrf_token(cookie) if cookie else ""

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = self.wb.templates.get_template(template).render(
            page=self,
            section=self.section,
            banners=self.banners,
            now=self.now,
            store_label=self.wb.store_label,
            actions_enabled=self.wb.guard.enabled,
            signed_in=self.signed_in,
            csrf=self.csrf(),
            elapsed_ms=lambda: round((time.perf_counter() - self.started) * 1000),
            **context,
        )
        return HTMLResponse(body, status_code=status)
