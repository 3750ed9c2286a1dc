"""Alert rules compiled from their configuration; matching is pure."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alert.channels import Channel, make_channel
from newsmon.config import RuleConfig
from newsmon.errors import ConfigError
from newsmon.query import Matcher, QueryError, compile_query


@dataclass(frozen=True)
class Rule:
    name: str
    query: str
    matcher: Matcher
    channels: tuple[Channel, ...]


def compile_rules(configs: Sequence[RuleConfig]) -> list[Rule]:
    rules: list[Rule] = []
    for cfg in configs:
        try:
            matcher = compile_query(cfg.query)
        except QueryError as exc:
            raise ConfigError(f"rule {cfg.name!r}: bad query {cfg.query!r}: {exc}") from exc
        rules.append(
            Rule(cfg.name, cfg.query, matcher, tuple(make_channel(c) for c in cfg.channels))
        )
    return rules


def alert_id(rule: str, story_id: str) -> str:
    """Deterministic ledger id: one alert per (rule, story)."""
    return hashlib.sha256(f"{rule}\x00{story_id}".encode()).hexdigest()[:32]


def match(rule: Rule, doc: Mapping[str, Any]) -> list[str] | None:
    """The terms that matched, or None when the rule does not select the document."""
    return rule.matcher.explain(doc)
