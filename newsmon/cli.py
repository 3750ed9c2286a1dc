"""The ``newsmon`` command: services, the all-in-one runner, tagging and search."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from newsmon import logs
from newsmon.config import Settings, load_feeds
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
    p.add_argument("--no-web", action="store_true",
                   help="do not serve the analyst page (default: on NEWSMON_WEB_HOST:"
                   "NEWSMON_WEB_PORT, 127.0.0.1:9460; not with --once)")
    p = sub.add_parser("backfill", help="load a JSON Lines archive of articles into the pipeline")
    _add_common(p, "bus", "store", "rules")
    p.add_argument("file", help="JSON Lines: id, title, text, url, source, published per line")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub.add_parser("tag", help="JSON Lines of articles on stdin -> tagged JSON Lines on stdout")
    p = sub.add_parser("search", help="search the store with a Lucene query string")
    _add_common(p, "store")
    p.add_argument("query", nargs="?", default="*:*",
                   help="Lucene syntax, e.g. 'ceasefire AND actor:\"Vladimir Putin\"'")
    p.add_argument("--json", action="store_true",
                   help="one JSON document per line (matches under \"highlight\")")
    p.add_argument("--limit", type=int, default=20, help="at most N hits (default 20)")
    p.add_argument("--sort", choices=("published", "relevance"), default="published")
    p.add_argument("--since", default=None,
                   help="only articles published since: 24h, 7d, 2w or a date (2025-05-01)")
    p.add_argument("--topic", action="append", default=[], help="topic:NAME (repeatable: AND)")
    p.add_argument("--actor", action="append", default=[],
                   help='actor:"NAME", a canonical name (repeatable: AND)')
    _add_ops_commands(sub)
    for register in _stage_commands():
        register(sub)
    return parser


def _add_ops_commands(sub: Any) -> None:
    p = sub.add_parser("deadletter", help="list, show or replay dead-lettered records")
    _add_common(p, "bus")
    dl = p.add_subparsers(dest="action", required=True)
    q = dl.add_parser("list", help="dead letters in topic order")
    q.add_argument("--stage", default=None, help="only letters of this stage")
    q.add_argument("--limit", type=int, default=None, help="at most N letters")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q = dl.add_parser("show", help="one letter in full: PARTITION:OFFSET, OFFSET or KEY")
    q.add_argument("ref", help="PARTITION:OFFSET (as `list` prints), OFFSET or record key")
    q = dl.add_parser("replay", help="re-publish letters not replayed before to their topic")
    q.add_argument("--stage", default=None, help="only this stage (default: every stage)")
    q.add_argument("--dry-run", action="store_true", help="print what would be replayed")
    p = sub.add_parser("status", help="health, lag, staleness and counts of every service")
    _add_common(p, "bus", "store")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--host", default="127.0.0.1", help="where the services' /metrics listen")
    p.add_argument("--ports", default=None,
                   help="SERVICE=PORT,... where they differ from the defaults (ingest=9461, "
                   "process=9462, index=9463, alert=9464; env NEWSMON_METRICS_PORT per service)")


def _stage_commands() -> list[Any]:
    """Each stage may add its own sub-commands: ``<stage>/cli.py`` defines ``register(sub)``,
    whose parsers ``set_defaults(handler=fn)`` with ``fn(args, settings) -> int``. Those modules
    import their heavy dependencies inside the handlers."""
    import importlib

    found = []
    for stage in ("ingest", "process", "index", "alert", "web"):
        try:
            module = importlib.import_module(f"{stage}.cli")
        except ModuleNotFoundError as exc:
            if exc.name not in (stage, f"{stage}.cli"):  # an install without that part
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
    from index.cli import filtered_query
    from newsmon.wiring import make_store

    query = filtered_query(args)
    store = make_store(settings)
    result = store.search(query, limit=args.limit, sort=args.sort, highlight=True)
    marks = result.highlights or [{} for _ in result.hits]
    if args.json:
        for hit, mark in zip(result.hits, marks, strict=True):
            print(json.dumps({**hit, "highlight": mark} if mark else hit, ensure_ascii=False))
        return 0
    print(f"{result.total} articles match {query!r}")
    for hit, mark in zip(result.hits, marks, strict=True):
        actors = ", ".join(hit.get("actor", [])[:5])
        print(
            f"- {hit.get('published', '?')[:16]}  {hit.get('source', '')}: {hit.get('title', '')}"
        )
        print(f"    {hit.get('url', '')}" + (f"  [{actors}]" if actors else ""))
        for fragment in mark.get("text", [])[:2]:
            print(f"    … {fragment.replace(chr(10), ' ')} …")
    return 0


def _stop_event(deadline: float | None = None) -> threading.Event:
    from newsmon.runtime import install_signal_handlers

    stop = threading.Event()
    install_signal_handlers(stop, deadline)
    return stop


def _cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.service import run_ingest
    from newsmon.wiring import make_bus, make_store

    if settings.feeds is None:
        raise ConfigError("no feeds: set NEWSMON_FEEDS or --feeds to a YAML list of feeds")
    feeds = load_feeds(settings.feeds)
    bus = make_bus(settings)
    bus.ensure_topics()
    health = None
    if not args.once:
        from newsmon.observe import label_logs, serve_health

        label_logs("ingest")
        health = serve_health("ingest", [bus.check], settings.metrics_port, settings.metrics_host)
    # the store is only read: does it hold what the seen-state calls published?
    store = None if settings.store.startswith("memory://") else make_store(settings)
    try:
        stop = _stop_event(None if args.once else settings.shutdown_timeout)
        run_ingest(settings, feeds, bus, stop, once=args.once, store=store,
                   behind=_pipeline_behind(settings))
    finally:
        bus.close()
        if store is not None:
            store.close()
        if health is not None:
            health.close()
    return 0


def _pipeline_behind(settings: Settings) -> Callable[[datetime], int] | None:
    """Records published before a time and not yet consumed by the stages that fill the store
    (Kafka only; read without joining their groups): the ingest's store check waits for them."""
    if not settings.bus.startswith("kafka://"):
        return None
    from newsmon.adapters.kafka_admin import unconsumed_before
    from newsmon.security import kafka_security
    from newsmon.status import GROUPS

    groups = {g: GROUPS[g] for g in ("newsmon-process", "newsmon-index")}
    options = kafka_security(settings).client_options()

    def behind(before: datetime) -> int:
        return unconsumed_before(
            settings.bus, groups, before.timestamp(), settings.namespace, options
        )

    return behind


def _serve(
    stage: Any,
    settings: Settings,
    bus: Any,
    store: Any = None,
    wrap: Callable[[Any], Any] | None = None,
) -> int:
    """Run a consuming stage as a service; ``wrap`` may decorate its consumer (batching)."""
    from newsmon.observe import label_logs, serve_health, stage_state
    from newsmon.runtime import consume_forever

    label_logs(stage.name)
    bus.ensure_topics()
    consumer = bus.consumer(f"newsmon-{stage.name}", stage.topics)
    if wrap is not None:
        consumer = wrap(consumer)
    checks = [bus.check] + ([store.check] if store is not None else [])
    checks.append(stage_state(stage.name).check)
    health = serve_health(stage.name, checks, settings.metrics_port, settings.metrics_host)
    log.info("service=%s started bus=%s", stage.name, settings.bus)
    stop = _stop_event(settings.shutdown_timeout)
    try:
        consume_forever(
            stage, bus, consumer, stop, batch_size=settings.batch_size,
            on_idle=getattr(stage, "tick", None),
        )
    finally:
        consumer.close()
        bus.close()
        if health is not None:
            health.close()
    return 0


def _cmd_process(args: argparse.Namespace, settings: Settings) -> int:
    from newsmon.wiring import make_bus, make_story_store
    from process.stage import ProcessStage
    from process.story import StoryClusterer
    from process.tagger import Tagger

    bus = make_bus(settings)
    # story identity lives in the store every processor shares (newsmon.stories)
    clusterer = StoryClusterer(store=make_story_store(settings))
    try:
        # NER in a child process, everything else beside it on another core (process.nlp_worker)
        tagger = Tagger.load(ner_process=True)
        try:
            return _serve(ProcessStage(bus, tagger, clusterer=clusterer), settings, bus)
        finally:
            tagger.close()
    finally:
        clusterer.close()


def _cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from index.stage import IndexStage
    from newsmon.wiring import make_bus, make_store

    if args.action != "serve":
        from index.admin import run_admin

        return run_admin(args.action, settings)
    store = make_store(settings)
    store.ensure_schema()
    bus = make_bus(settings)
    from index.batching import BatchingConsumer

    return _serve(
        IndexStage.from_settings(store, settings), settings, bus, store,
        wrap=lambda consumer: BatchingConsumer.from_settings(consumer, settings),
    )


def _rules(settings: Settings) -> list[Any]:
    """The rules that load; a rule that does not is logged (file, line, rule, field) and
    left out, so one bad rule never stops the others (``newsmon alerts add`` refuses it)."""
    from alert.metrics import RULES_REJECTED
    from alert.rules import load_rule_file

    if not settings.rules:
        return []
    rules, errors = load_rule_file(settings.rules)
    for error in errors:
        log.error("rule rejected: %s", error)
    RULES_REJECTED.set(len(errors))
    return rules


def _cmd_alert(args: argparse.Namespace, settings: Settings) -> int:
    from alert.stage import AlertStage
    from newsmon.wiring import make_bus, make_store

    store = make_store(settings)
    store.ensure_schema()
    bus = make_bus(settings)
    return _serve(AlertStage(store, _rules(settings)), settings, bus, store)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from importlib import resources

    from newsmon.embedded import run_all

    bundled = resources.files("newsmon") / "data"
    if settings.feeds is None:  # the embedded default: real public feeds about the war
        settings = settings.model_copy(update={"feeds": Path(str(bundled / "feeds.example.yaml"))})
        log.info("no NEWSMON_FEEDS: using the bundled %s", settings.feeds)
    if settings.rules is None:
        settings = settings.model_copy(update={"rules": Path(str(bundled / "rules.example.yaml"))})
        log.info("no NEWSMON_RULES: using the bundled %s", settings.rules)
    feeds = load_feeds(settings.feeds) if settings.feeds else []
    rules, stop = _rules(settings), _stop_event()
    if args.once or args.no_web or settings.web_port == 0:
        run_all(settings, feeds, rules, stop, once=args.once)
        return 0
    from newsmon.wiring import make_store
    from web.cli import start_beside  # the page shares the pipeline's store (memory:// too)

    store = make_store(settings)
    web = start_beside(settings, store)
    try:
        run_all(settings, feeds, rules, stop, store=store)
    finally:
        if web is not None:
            web.close()
        store.close()
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


def _cmd_deadletter(args: argparse.Namespace, settings: Settings) -> int:
    from newsmon import deadletter
    from newsmon.wiring import make_bus

    bus = make_bus(settings)
    try:
        if args.action == "replay":
            report = deadletter.replay(bus, args.stage, dry_run=args.dry_run)
            verb = "would replay" if args.dry_run else "replayed"
            for stage, done in report.replayed.items():
                refs = " ".join(lt.ref for lt in done[:20]) + (" ..." if len(done) > 20 else "")
                print(f"{verb} stage={stage} letters={len(done)} {refs}".rstrip())
            return 0
        found = deadletter.letters(bus, stage=getattr(args, "stage", None))
        if args.action == "show":
            chosen = deadletter.find(found, args.ref)
            for lt in chosen:
                print(json.dumps(lt.summary(with_value=True), ensure_ascii=False, indent=2))
            return 0 if chosen else 1
        found = found[: args.limit] if args.limit is not None else found
        if args.json:
            for lt in found:
                print(json.dumps(lt.summary(), ensure_ascii=False))
        else:
            print(deadletter.format_table(found))
        return 0
    finally:
        bus.close()


def _cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from newsmon.status import collect, parse_ports, render

    report = collect(settings, host=args.host, ports=parse_ports(args.ports))
    print(json.dumps(report, ensure_ascii=False) if args.json else render(report))
    return 0 if report["healthy"] else 1


_COMMANDS = {
    "backfill": _cmd_backfill,
    "deadletter": _cmd_deadletter,
    "status": _cmd_status,
    "ingest": _cmd_ingest,
    "process": _cmd_process,
    "index": _cmd_index,
    "alert": _cmd_alert,
    "run": _cmd_run,
    "tag": _cmd_tag,
    "search": _cmd_search,
}
