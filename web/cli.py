"""``newsmon web``: the analyst workbench (search, stories, actors, alerts, feeds) in a browser.

Loaded by ``newsmon.cli`` (``register(sub)``); the server and its dependencies are imported
inside the handler. ``newsmon run`` starts the same page beside the pipeline (see
:func:`start_beside`).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from typing import Any

from newsmon.config import Settings

log = logging.getLogger("newsmon.web")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "web",
        help="the analyst page: search, stories, actors, alerts, feeds "
        "(default http://127.0.0.1:9460/)",
    )
    p.add_argument(
        "--store",
        default=None,
        help="article store URL: sqlite:///path.db or http://host:9200 (env NEWSMON_STORE)",
    )
    p.add_argument("--rules", default=None, help="YAML list of alert rules (env NEWSMON_RULES)")
    p.add_argument("--feeds", default=None, help="YAML list of feeds (env NEWSMON_FEEDS)")
    p.add_argument(
        "--host",
        default=None,
        help="bind address (env NEWSMON_WEB_HOST; default 127.0.0.1: this machine only)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=None,
        help="port (env NEWSMON_WEB_PORT; default 9460; 0: any free port)",
    )
    p.set_defaults(handler=cmd_web)


def _with_address(settings: Settings, args: argparse.Namespace) -> Settings:
    update: dict[str, Any] = {}
    if args.host is not None:
        update["web_host"] = args.host
    if args.port is not None:
        update["web_port"] = args.port
    return settings.model_copy(update=update) if update else settings


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    from newsmon.runtime import install_signal_handlers
    from web.server import start
    from web.views import redact_url

    settings = _with_address(settings, args)
    if settings.store.startswith("memory://"):
        log.warning(
            "web: NEWSMON_STORE=memory:// is private to this process: the page shows "
            "an empty store (use sqlite:///path.db or http://host:9200)"
        )
    web = start(settings)
    mode = (
        "read-only: set NEWSMON_WEB_TOKEN to allow silencing and rule edits"
        if web.read_only
        else "actions need the token of NEWSMON_WEB_TOKEN"
    )
    print(
        f"newsmon web: open {web.url}\n  store {redact_url(settings.store)}; {mode}; Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    stop = threading.Event()
    install_signal_handlers(stop, None)
    try:
        while not stop.wait(0.5):
            if not web.thread.is_alive():
                log.error("web: the server stopped")
                return 1
    finally:
        web.close()
    return 0


def start_beside(settings: Settings, store: Any) -> Any:
    """The page for ``newsmon run``, sharing its store; None (logged) if it cannot start."""
    from newsmon.errors import ConfigError
    from web.server import start

    try:
        web = start(settings, store=store)
    except ConfigError as exc:
        log.warning("web: page not started: %s", exc)
        return None
    log.info("web: the analyst page is at %s", web.url)
    return web
