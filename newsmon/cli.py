"""The ``newsmon`` command: services, the all-in-one runner, tagging and search."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Sequence
from typing import Any

from newsmon import logs
from newsmon.config import Settings, load_feeds, load_rules
from newsmon.errors import ConfigError, NewsmonError, TransientError
from newsmon.query import QueryError

log = logging.getLogger("newsmon")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("bus", "store", "feeds", "rules"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def _add_common(p: argparse.ArgumentParser, *names: str) -> None:
    helps = {
        "bus": "message bus URL: memory:// or kafka://host:9092 (env NEWSMON_BUS)",
        "store": "article store URL: memory:// or http://host:9200 (env NEWSMON_STORE)",
        "feeds": "YAML list of feeds (env NEWSMON_FEEDS)",
        "rules": "YAML list of alert rules (env NEWSMON_RULES)",
    }
    for name in names:
        p.add_argument(f"--{name}", default=None, help=helps[name])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsmon", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest", help="service: poll feeds, publish raw articles")
    _add_common(p, "bus", "feeds")
    p.add_argument("--once", action="store_true", help="poll every feed once and exit")
    p = sub.add_parser("process", help="service: tag raw articles, publish tagged articles")
    _add_common(p, "bus")
    p = sub.add_parser(
        "index", help="service: write tagged articles to the store; or `index create|check`"
    )
    _add_common(p, "bus", "store")
    p.add_argument(
        "action",
        nargs="?",
        default="serve",
        choices=("serve", "create", "check"),
        help="serve (default): run the service; create: templates, alias and indices; "
        "check: verify they exist and match the shipped mapping",
    )
    p = sub.add_parser("alert", help="service: match tagged articles against alert rules")
    _add_common(p, "bus", "store", "rules")
    p = sub.add_parser("run", help="every stage in one process (embedded default)")
    _add_common(p, "bus", "store", "feeds", "rules")
    p.add_argument("--once", action="store_true", help="poll every feed once, drain, exit")
    p = sub.add_parser("backfill", help="load a JSON Lines archive of articles into the pipeline")
    _add_common(p, "bus", "store", "rules")
    p.add_argument("file", help="JSON Lines: id, title, text, url, source, published per line")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub.add_parser("tag", help="JSON Lines of articles on stdin -> tagged JSON Lines on stdout")
    p = sub.add_parser("search", help="search the store with a Lucene query string")
    _add_common(p, "store")
    p.add_argument("query", help="Lucene syntax, e.g. 'ceasefire AND actor:\"Vladimir Putin\"'")
    p.add_argument("--json", action="store_true", help="one JSON document per line")
    p.add_argument("--limit", type=int, default=20, help="at most N hits (default 20)")
    p.add_argument("--sort", choices=("published", "relevance"), default="published")
    for register in _stage_commands():
        register(sub)
    return parser


def _stage_commands() -> list[Any]:
    """Each stage may add its own sub-commands: ``<stage>/cli.py`` defines ``register(sub)``,
    whose parsers ``set_defaults(handler=fn)`` with ``fn(args, settings) -> int``. Those modules
    import their heavy dependencies inside the handlers."""
    import importlib

    found = []
    for stage in ("ingest", "process", "index", "alert"):
        try:
            module = importlib.import_module(f"{stage}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"{stage}.cli":
                raise
            continue
        found.append(module.register)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
        logs.configure(settings.log_format, settings.log_level)
        handler = getattr(args, "handler", None) or _COMMANDS[args.command]
        return int(handler(args, settings))
    except (ConfigError, QueryError) as exc:
        print(f"newsmon: error: {exc}", file=sys.stderr)
        return 2
    except TransientError as exc:
        print(f"newsmon: unavailable: {exc}", file=sys.stderr)
        return 3
    except NewsmonError as exc:
        print(f"newsmon: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `newsmon search ... | head`
        sys.stderr.close()
        return 0


def _cmd_tag(args: argparse.Namespace, settings: Settings) -> int:
    from process.contract import tag_stream

    tag_stream(sys.stdin, sys.stdout, batch_size=settings.batch_size)
    return 0


def _cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from newsmon.wiring import make_store

    store = make_store(settings)
    result = store.search(args.query, limit=args.limit, sort=args.sort)
    if args.json:
        for hit in result.hits:
            print(json.dumps(hit, ensure_ascii=False))
        return 0
    print(f"{result.total} articles match {args.query!r}")
    for hit in result.hits:
        actors = ", ".join(hit.get("actor", [])[:5])
        print(
            f"- {hit.get('published', '?')[:16]}  {hit.get('source', '')}: {hit.get('title', '')}"
        )
        print(f"    {hit.get('url', '')}" + (f"  [{actors}]" if actors else ""))
    return 0


def _stop_event() -> threading.Event:
    from newsmon.runtime import install_signal_handlers

    stop = threading.Event()
    install_signal_handlers(stop)
    return stop


def _cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.service import run_ingest
    from newsmon.wiring import make_bus

    if settings.feeds is None:
        raise ConfigError("no feeds: set NEWSMON_FEEDS or --feeds to a YAML list of feeds")
    feeds = load_feeds(settings.feeds)
    bus = make_bus(settings)
    bus.ensure_topics()
    try:
        run_ingest(settings, feeds, bus, _stop_event(), once=args.once)
    finally:
        bus.close()
    return 0


def _serve(stage: Any, settings: Settings, bus: Any, store: Any = None) -> int:
    from newsmon.observe import serve_health
    from newsmon.runtime import consume_forever

    bus.ensure_topics()
    consumer = bus.consumer(f"newsmon-{stage.name}", stage.topics)
    checks = [bus.check] + ([store.check] if store is not None else [])
    health = serve_health(stage.name, checks, settings.metrics_port, settings.metrics_host)
    log.info("service=%s started bus=%s", stage.name, settings.bus)
    try:
        consume_forever(stage, bus, consumer, _stop_event(), batch_size=settings.batch_size)
    finally:
        consumer.close()
        bus.close()
        if health is not None:
            health.close()
    return 0


def _cmd_process(args: argparse.Namespace, settings: Settings) -> int:
    from newsmon.wiring import make_bus
    from process.stage import ProcessStage
    from process.tagger import Tagger

    bus = make_bus(settings)
    return _serve(ProcessStage(bus, Tagger.load()), settings, bus)


def _cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from index.stage import IndexStage
    from newsmon.wiring import make_bus, make_store

    if args.action != "serve":
        from index.admin import run_admin

        return run_admin(args.action, settings)
    store = make_store(settings)
    store.ensure_schema()
    bus = make_bus(settings)
    return _serve(IndexStage(store), settings, bus, store)


def _rules(settings: Settings) -> list[Any]:
    from alert.rules import compile_rules

    return compile_rules(load_rules(settings.rules)) if settings.rules else []


def _cmd_alert(args: argparse.Namespace, settings: Settings) -> int:
    from alert.stage import AlertStage
    from newsmon.wiring import make_bus, make_store

    store = make_store(settings)
    store.ensure_schema()
    bus = make_bus(settings)
    return _serve(AlertStage(store, _rules(settings)), settings, bus, store)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from newsmon.embedded import run_all

    feeds = load_feeds(settings.feeds) if settings.feeds else []
    run_all(settings, feeds, _rules(settings), _stop_event(), once=args.once)
    return 0


def _cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from newsmon.backfill import backfill
    from newsmon.embedded import pipeline_bus

    path = Path(args.file)
    if not path.is_file():
        raise ConfigError(f"no such file: {path}")
    with pipeline_bus(settings, _rules(settings)) as bus:
        published, skipped = backfill(path, bus, progress=not args.no_progress)
    print(f"backfill: published={published} skipped={skipped}", file=sys.stderr)
    return 0 if published or not skipped else 1


_COMMANDS = {
    "backfill": _cmd_backfill,
    "ingest": _cmd_ingest,
    "process": _cmd_process,
    "index": _cmd_index,
    "alert": _cmd_alert,
    "run": _cmd_run,
    "tag": _cmd_tag,
    "search": _cmd_search,
}
