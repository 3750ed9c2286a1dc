"""Serving the workbench with uvicorn on one port, in a thread of the calling process.

``newsmon web`` runs it and waits for Ctrl-C / SIGTERM; ``newsmon run`` runs it beside the
pipeline, sharing the pipeline's store. The socket is bound here, before uvicorn starts, so a
port in use is one clear :class:`ConfigError` instead of uvicorn exiting the process from its
thread; port 0 picks a free port (tests), and :attr:`WebServer.url` tells which.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from newsmon.config import Settings
from newsmon.errors import ConfigError
from newsmon.store import ArticleStore
from web.app import create_app
from web.context import Workbench

log = logging.getLogger(__name__)
START_TIMEOUT = 15.0


@dataclass
class WebServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread
    workbench: Workbench

    @property
    def read_only(self) -> bool:
        return not self.workbench.guard.enabled

    def close(self, timeout: float = 10.0) -> None:
        """Stop serving (requests in flight get ``timeout_graceful_shutdown``), then the
        pages' threads and the store the page opened itself."""
        self.server.should_exit = True
        self.thread.join(timeout)
        self.workbench.close()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot serve the page on {host}:{port}: {exc.strerror or exc} "
            "(another program uses the port? set NEWSMON_WEB_PORT or --port)"
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def start(settings: Settings, *, store: ArticleStore | None = None) -> WebServer:
    """Serve in a daemon thread; returns once the server accepts connections."""
    app = create_app(settings, store=store)
    sock = bind(settings.web_host, settings.web_port)
    config = uvicorn.Config(
        app,
        log_config=None,  # newsmon's logging (text or JSON) handles uvicorn's loggers too
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="web", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        raise ConfigError("the page's server did not start (see the log above)")
    web = WebServer(url_of(sock), server, thread, app.state.workbench)
    if settings.web_host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("web: serving on %s, beyond this machine", web.url)
    return web
