"""Alert rules compiled from their configuration; matching is pure.

A rule selects an article when its query matches (the same Lucene semantics as search) and,
if given, the article carries one of the rule's ``topics`` and one of its ``actors``
(principal actors, case-insensitive — the ``topic`` / ``actor`` fields of the document).

Kinds: ``match`` (default: one alert per story), ``spike`` (one alert when the count of
matching stories in a window jumps, see :mod:`alert.spikes`) and ``health`` (routes the
poller's feed-health signals to an operator channel, see :mod:`alert.healthroute`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from alert.channels import Channel, LogChannel, budget, make_channel
from alert.spikes import SpikeSpec, spec_of
from alert.templates import check_template
from newsmon.config import SPIKE_FIELDS, RuleConfig, load_rules_leniently
from newsmon.errors import ConfigError
from newsmon.query import Matcher, PreparedDoc, QueryError, compile_query, prepare

LEASE_MARGIN = timedelta(seconds=5)


@dataclass(frozen=True)
class Rule:
    name: str
    query: str
    matcher: Matcher
    channels: tuple[Channel, ...]
    topics: frozenset[str] = frozenset()
    actors: frozenset[str] = frozenset()
    realert: timedelta | None = timedelta(days=1)
    digest: str | None = None
    timezone: ZoneInfo = ZoneInfo("UTC")
    kibana_url: str | None = None
    kind: str = "match"
    spike: SpikeSpec | None = None
    signals: frozenset[str] = frozenset()  # health: the signals routed (empty: every one)
    resolved: bool = False  # health: tell when a signal ends too
    immediate: bool = False  # with a digest: send at once as well

    @property
    def lease(self) -> timedelta:
        """How long a pending alert belongs to the worker sending it: longer than the worst
        case of sending to every channel, so a live sender is never overtaken."""
        return timedelta(seconds=sum(budget(c) for c in self.channels)) + LEASE_MARGIN


def compile_rule(cfg: RuleConfig) -> Rule:
    query = cfg.query or "*:*"  # health rules have none: they never match articles
    try:
        matcher = compile_query(query)
    except QueryError as exc:
        raise ConfigError(f"rule {cfg.name!r}: bad query {cfg.query!r}: {exc}") from exc
    subject = text = None
    if cfg.template is not None:
        subject, text = cfg.template.subject, cfg.template.text
        for part in (subject, text):
            try:
                check_template(part or "")
            except ValueError as exc:
                raise ConfigError(f"rule {cfg.name!r}: template: {exc}") from exc
    spike = spec_of({f: getattr(cfg, f) for f in SPIKE_FIELDS}) if cfg.kind == "spike" else None
    return Rule(
        name=cfg.name,
        query=cfg.query or "",
        matcher=matcher,
        channels=tuple(make_channel(c, subject, text) for c in cfg.channels),
        topics=frozenset(t.lower() for t in cfg.topics),
        actors=frozenset(a.lower() for a in cfg.actors),
        realert=cfg.realert,
        digest=cfg.digest,
        timezone=ZoneInfo(cfg.timezone),
        kibana_url=str(cfg.kibana_url) if cfg.kibana_url else None,
        kind=cfg.kind,
        spike=spike,
        signals=frozenset(cfg.signals or ()),
        resolved=bool(cfg.resolved),
        immediate=cfg.immediate,
    )


def compile_rules(configs: Sequence[RuleConfig]) -> list[Rule]:
    names = [c.name for c in configs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"duplicate rule name {dupes[0]!r}")
    return [compile_rule(cfg) for cfg in configs]


def load_rule_file(path: Path) -> tuple[list[Rule], list[str]]:
    """The rules of the file that load and compile, and one message per rule that does not
    (named with its file, line, rule and field): a bad rule is reported and left out, the
    others run. Unreadable or non-list files still raise ConfigError."""
    configs, errors = load_rules_leniently(path)
    rules = []
    for cfg in configs:
        try:
            rules.append(compile_rule(cfg))
        except ConfigError as exc:
            errors.append(f"{path}: {exc}")
    return rules, errors


def operator_rule() -> Rule:
    """Where feed-health signals go when no rule of ``kind: health`` is configured: the log."""
    return Rule(
        name="feed-health",
        query="",
        matcher=compile_query("*:*"),
        channels=(LogChannel(),),
        realert=None,
        kind="health",
    )


def alert_id(rule: str, story_id: str, generation: int = 0) -> str:
    """Deterministic ledger id: one alert per (rule, story) and realert generation."""
    key = f"{rule}\x00{story_id}" + (f"\x00{generation}" if generation else "")
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _lowered(doc: PreparedDoc, field: str) -> set[str]:
    return {v for v, _ in doc.keywords(field, normalized=True)}


def passes_filters(rule: Rule, doc: PreparedDoc) -> bool:
    if rule.topics and not rule.topics & _lowered(doc, "topic"):
        return False
    return not (rule.actors and not rule.actors & _lowered(doc, "actor"))


def match(rule: Rule, doc: Mapping[str, Any] | PreparedDoc) -> list[str] | None:
    """The terms that matched, or None when the rule does not select the document."""
    prepared = prepare(doc)
    if not passes_filters(rule, prepared):
        return None
    return rule.matcher.explain(prepared)
