"""Sub-commands of the index stage: ``newsmon stats``, ``newsmon kibana import`` and
``newsmon ilm install``.

Loaded by ``newsmon.cli`` (``register(sub)``); heavy imports stay inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsmon.config import Settings

KIBANA_FILE = "newsmon.ndjson"


def register(sub: Any) -> None:
    p = sub.add_parser("stats", help="articles per day per topic, top actors and sources")
    p.add_argument("query", nargs="?", default="*:*", help="Lucene query (default: every article)")
    p.add_argument("--store", default=None,
                   help="article store URL: sqlite:///path, memory:// or http://host:9200 "
                   "(env NEWSMON_STORE)")
    add_filters(p, default_since="30d")
    p.add_argument("--top", type=int, default=10, help="entries per top list (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=cmd_stats)

    p = sub.add_parser("kibana", help="Kibana saved objects (data views, searches, dashboard)")
    ks = p.add_subparsers(dest="kibana_command", required=True)
    p = ks.add_parser("import", help="import deploy/kibana/newsmon.ndjson (overwrite)")
    p.add_argument("--url", required=True, help="Kibana base URL, e.g. http://127.0.0.1:5601")
    p.add_argument("--space", default=None, help="Kibana space id (default space if omitted)")
    p.add_argument("--file", type=Path, default=None,
                   help=f"saved objects .ndjson (default: the shipped {KIBANA_FILE})")
    p.set_defaults(handler=cmd_kibana_import)

    p = sub.add_parser("ilm", help="optional: index lifecycle management on clusters with ILM")
    p.add_argument("action", choices=("install",),
                   help="install: put the shipped ILM policy and reference it from the template "
                   "and the backing indices (then unset NEWSMON_INDEX_ROLLOVER_*)")
    p.add_argument("--store", default=None, help="Elasticsearch URL (env NEWSMON_STORE)")
    p.set_defaults(handler=cmd_ilm)


def add_filters(p: argparse.ArgumentParser, default_since: str | None = None) -> None:
    """``--since``, ``--topic``, ``--actor``: shortcuts composed into the Lucene query."""
    p.add_argument("--since", default=default_since,
                   help="only articles published since: 24h, 7d, 2w or a date (2025-05-01)"
                   + (f" (default {default_since})" if default_since else ""))
    p.add_argument("--topic", action="append", default=[], help="topic:NAME (repeatable: AND)")
    p.add_argument("--actor", action="append", default=[],
                   help='actor:"NAME", a canonical name (repeatable: AND)')


def filtered_query(args: argparse.Namespace, now: datetime | None = None) -> str:
    from index.search import compose_query, parse_since

    now = now or datetime.now(UTC)
    since = parse_since(args.since, now) if args.since else None
    return compose_query(args.query, since=since, topics=args.topic, actors=args.actor)


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from newsmon.wiring import make_store

    query = filtered_query(args)
    store = make_store(settings)
    try:
        stats = store.stats(query, top=args.top)
    finally:
        store.close()
    if args.json:
        body = {"query": query, **asdict(stats)}
        for key in ("top_actors", "top_sources", "top_topics"):
            body[key] = [{"name": n, "count": c} for n, c in body[key]]
        print(json.dumps(body, ensure_ascii=False))
        return 0
    print(f"{stats.total} articles match {query!r}")
    print("per day (UTC):")
    for day in stats.per_day:
        topics = ", ".join(f"{n} {c}" for n, c in day["topics"].items())
        print(f"  {day['day']}  {day['total']:6d}" + (f"   {topics}" if topics else ""))
    for title, pairs in (("top actors", stats.top_actors), ("top sources", stats.top_sources),
                         ("top topics", stats.top_topics)):
        print(f"{title}: " + (", ".join(f"{n} ({c})" for n, c in pairs) or "-"))
    return 0


def kibana_objects_path(explicit: Path | None = None) -> Path:
    """The saved-objects file: ``--file``; else ``deploy/kibana/newsmon.ndjson`` of a source
    checkout; else ``<prefix>/share/newsmon/kibana/newsmon.ndjson`` (installed as data-files)."""
    if explicit is not None:
        return explicit
    checkout = Path(__file__).resolve().parent.parent / "deploy" / "kibana" / KIBANA_FILE
    for candidate in (checkout,
                      Path(sys.prefix) / "share" / "newsmon" / "kibana" / KIBANA_FILE):
        if candidate.is_file():
            return candidate
    from newsmon.errors import ConfigError

    raise ConfigError(f"cannot find {KIBANA_FILE}: pass --file deploy/kibana/{KIBANA_FILE}")


def cmd_kibana_import(args: argparse.Namespace, settings: Settings) -> int:
    from index.kibana import KibanaError, import_objects

    path = kibana_objects_path(args.file)
    try:
        body = import_objects(args.url, path, overwrite=True, space=args.space)
    except KibanaError as exc:
        print(f"newsmon: kibana import failed: {exc}", file=sys.stderr)
        return 1
    print(f"imported {body.get('successCount', 0)} saved objects from {path} into {args.url}")
    return 0


def cmd_ilm(args: argparse.Namespace, settings: Settings) -> int:
    from index.ilm import load_policy
    from index.layout import load_layout
    from newsmon.errors import ConfigError
    from newsmon.wiring import make_store

    store = make_store(settings)
    try:
        install = getattr(store, "install_lifecycle", None)
        if install is None:
            print(f"newsmon: {settings.store} has no index lifecycle (Elasticsearch only)",
                  file=sys.stderr)
            return 2
        name = load_layout(settings.namespace).alias
        try:
            changed = install(name, load_policy())
        except ConfigError as exc:
            print(f"newsmon: ilm install failed: {exc}", file=sys.stderr)
            return 2
    finally:
        store.close()
    for line in changed:
        print(f"ilm: {line}")
    return 0
