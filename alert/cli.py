"""``newsmon alerts add | list | test | silence | unsilence | backfill``.

Rules live in the rules file (``NEWSMON_RULES``; ``add`` appends to it, see
:mod:`alert.rulefile`); silences live in the alert ledger of the store (``NEWSMON_STORE``),
which every worker reads (see :mod:`alert.silences`). ``test`` matches without sending.
``backfill`` rebuilds a spike rule's baseline from the stored articles (a new spike rule does
it by itself on its first article; this redoes it, e.g. after a longer archive was loaded).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsmon.config import Settings, parse_duration
from newsmon.errors import ConfigError

RULES_HELP = "YAML list of alert rules (env NEWSMON_RULES)"
STORE_HELP = "store URL holding the alert ledger (env NEWSMON_STORE)"


def register(sub: Any) -> None:
    p = sub.add_parser("alerts", help="manage alert rules: add, list, test, silence, unsilence")
    acts = p.add_subparsers(dest="alerts_command", required=True)

    a = acts.add_parser("add", help="validate a rule and append it to the rules file")
    a.add_argument("name")
    a.add_argument("query", help="Lucene syntax, as in `newsmon search`")
    a.add_argument("--channel", action="append", default=[], metavar="SPEC",
                   help="log | webhook=URL | slack=URL | a YAML mapping such as "
                   "'{type: email, to: [a@b.org], sender: n@b.org, host: smtp.b.org}' "
                   "(repeatable; default: log)")
    a.add_argument("--topic", action="append", default=[], help="require this topic")
    a.add_argument("--actor", action="append", default=[], help="require this principal actor")
    a.add_argument("--realert", help="one alert per story within this window (default 1d)")
    a.add_argument("--digest", help="30m | 2h | hourly | daily | 'daily HH:MM'")
    a.add_argument("--timezone", help="time zone of the message text (default UTC)")
    a.set_defaults(handler=cmd_add)

    a = acts.add_parser("list", help="rules, silences and ledger counts")
    a.add_argument("--json", action="store_true", help="one JSON object per rule")
    a.set_defaults(handler=cmd_list)

    a = acts.add_parser("test", help="match a rule (or a query) without sending anything")
    a.add_argument("rule", metavar="RULE_OR_QUERY", help="a rule name from the rules file, "
                   "or a query string")
    a.add_argument("--file", type=Path, help="JSON Lines of articles (default: the store's "
                   "most recent articles)")
    a.add_argument("--limit", type=int, default=500, help="articles read from the store")
    a.add_argument("--json", action="store_true", help="one JSON line per match")
    a.set_defaults(handler=cmd_test)

    a = acts.add_parser("silence", help="stop a rule from sending for a while (every worker)")
    a.add_argument("rule")
    a.add_argument("--for", dest="duration", default="1h", help="e.g. 30m, 2h, 1d (default 1h)")
    a.add_argument("--reason", default="", help="shown by `alerts list`")
    a.set_defaults(handler=cmd_silence)

    a = acts.add_parser("unsilence", help="lift a rule's silence")
    a.add_argument("rule")
    a.set_defaults(handler=cmd_unsilence)

    a = acts.add_parser("backfill", help="rebuild a spike rule's baseline from stored articles")
    a.add_argument("rule", help="a rule of kind: spike from the rules file")
    a.add_argument("--since", default=None,
                   help="how far back, e.g. 14d (default: the rule's backfill, 28d)")
    a.set_defaults(handler=cmd_backfill)

    for parser in acts.choices.values():
        parser.add_argument("--rules", default=None, help=RULES_HELP)
        parser.add_argument("--store", default=None, help=STORE_HELP)


def _rules_path(settings: Settings) -> Path:
    if settings.rules is None:
        raise ConfigError("no rules file: set NEWSMON_RULES or --rules")
    return settings.rules


def _channel(spec: str) -> dict[str, Any]:
    import yaml

    spec = spec.strip()
    if spec.startswith("{"):
        value = yaml.safe_load(spec)
        if not isinstance(value, dict):
            raise ConfigError(f"--channel {spec!r}: not a mapping")
        return value
    kind, _, url = spec.partition("=")
    return {"type": kind, "url": url} if url else {"type": kind}


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from alert.rulefile import add_rule

    rule: dict[str, Any] = {"name": args.name, "query": args.query}
    if args.topic:
        rule["topics"] = args.topic
    if args.actor:
        rule["actors"] = args.actor
    for key in ("realert", "digest", "timezone"):
        if getattr(args, key):
            rule[key] = getattr(args, key)
    rule["channels"] = [_channel(c) for c in args.channel] or [{"type": "log"}]
    path = _rules_path(settings)
    added = add_rule(path, rule)
    print(f"added rule {added.name!r} to {path} (running workers load it at restart)")
    return 0


def _load(settings: Settings) -> list[Any]:
    from newsmon.config import load_rules

    return load_rules(_rules_path(settings))


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from alert.silences import active
    from newsmon.config import load_rules_leniently
    from newsmon.wiring import make_store

    configs, rejected = load_rules_leniently(_rules_path(settings))
    for error in rejected:
        print(f"REJECTED {error}", file=sys.stderr)
    store = make_store(settings)
    now = datetime.now(UTC)
    silenced = active(store, now)
    counts = Counter((str(e.get("rule")), str(e.get("status")))
                     for e in store.alerts({"kind": "alert"}))
    for cfg in configs:
        stats = {s: n for (r, s), n in counts.items() if r == cfg.name}
        row: dict[str, Any] = {"name": cfg.name, "kind": cfg.kind, "query": cfg.query,
               "channels": [c.label for c in cfg.channels],
               "silenced_until": silenced[cfg.name].isoformat() if cfg.name in silenced else None,
               "alerts": stats}
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
            continue
        mute = f"  SILENCED until {row['silenced_until']}" if row["silenced_until"] else ""
        ledger = ", ".join(f"{n} {s}" for s, n in sorted(stats.items())) or "no alerts yet"
        what = cfg.query if cfg.kind == "match" else f"[{cfg.kind}] {cfg.query or ''}".rstrip()
        print(f"{cfg.name}: {what}{mute}\n    -> {', '.join(row['channels'])}; {ledger}")
    return 0


def _docs_from_file(path: Path) -> list[dict[str, Any]]:
    from newsmon.documents import search_document
    from newsmon.schema import SchemaError, TaggedArticle, decode

    docs = []
    for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            docs.append(search_document(decode(TaggedArticle, line.encode())))
        except SchemaError:
            try:
                docs.append(json.loads(line))  # already a search document
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{n}: not JSON: {exc}") from exc
    return docs


def cmd_test(args: argparse.Namespace, settings: Settings) -> int:
    from alert.rules import compile_rule, match
    from newsmon.config import RuleConfig

    configs = {c.name: c for c in _load(settings)} if settings.rules else {}
    cfg = configs.get(args.rule) or RuleConfig(name="query", query=args.rule)
    rule = compile_rule(cfg)
    if args.file is not None:
        docs = _docs_from_file(args.file)
    else:
        from newsmon.wiring import make_store

        docs = make_store(settings).search("*", limit=args.limit).hits
    hits = 0
    for doc in docs:
        matched = match(rule, doc)
        if matched is None:
            continue
        hits += 1
        if args.json:
            print(json.dumps({"article_id": doc.get("article_id"), "story_id": doc.get("story_id"),
                              "title": doc.get("title"), "matched": matched}, ensure_ascii=False))
        else:
            print(f"- {str(doc.get('published', '?'))[:16]}  {doc.get('source', '')}: "
                  f"{doc.get('title', '')}\n    matched: {', '.join(matched) or '(no terms)'}")
    stories = len({d.get("story_id") for d in docs if match(rule, d) is not None})
    print(f"{hits} of {len(docs)} articles match rule {rule.name!r} ({stories} stories); "
          "nothing was sent", file=sys.stderr if args.json else sys.stdout)
    return 0


def cmd_silence(args: argparse.Namespace, settings: Settings) -> int:
    from alert.silences import silence
    from newsmon.wiring import make_store

    try:
        duration = parse_duration(args.duration)
    except ValueError as exc:
        raise ConfigError(f"--for: {exc}") from exc
    if settings.rules is not None and args.rule not in {c.name for c in _load(settings)}:
        raise ConfigError(f"no rule named {args.rule!r} in {settings.rules}")
    now = datetime.now(UTC)
    store = make_store(settings)
    store.ensure_schema()
    silence(store, args.rule, now + duration, args.reason, now)
    print(f"rule {args.rule!r} silenced until {(now + duration).isoformat(timespec='seconds')}")
    return 0


def cmd_unsilence(args: argparse.Namespace, settings: Settings) -> int:
    from alert.silences import unsilence
    from newsmon.wiring import make_store

    lifted = unsilence(make_store(settings), args.rule, datetime.now(UTC))
    print(f"rule {args.rule!r} " + ("unsilenced" if lifted else "was not silenced"))
    return 0


def cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from alert.rules import compile_rule
    from alert.spiking import SpikeTracker
    from newsmon.config import load_rules_leniently
    from newsmon.wiring import make_store

    configs = {c.name: c for c in load_rules_leniently(_rules_path(settings))[0]}
    cfg = configs.get(args.rule)
    if cfg is None or cfg.kind != "spike":
        raise ConfigError(f"no spike rule named {args.rule!r} in {settings.rules}")
    rule = compile_rule(cfg)
    if args.since is not None and rule.spike is not None:
        try:
            since = parse_duration(args.since)
        except ValueError as exc:
            raise ConfigError(f"--since: {exc}") from exc
        rule = replace(rule, spike=replace(rule.spike, backfill=since))
    store = make_store(settings)
    store.ensure_schema()
    state = SpikeTracker(store, [rule], lambda *_: False).rebuild(rule, datetime.now(UTC))
    spec = rule.spike
    assert spec is not None
    if state.folded is None:
        print(f"rule {rule.name!r}: no stored articles in the last {args.since or '28d'}; "
              "it warms up from the stream")
        return 0
    level = state.baseline.level
    print(f"rule {rule.name!r}: baseline from {level.n} windows of {spec.window}; "
          f"usual {level.mean + level.dev:.1f} {spec.count} per window overall")
    return 0
