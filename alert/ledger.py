"""Ledger entries: what the ``news-alerts`` index (SQLite table ``alerts``) holds (pure).

One entry per (rule, story, generation), ``_id`` = :func:`alert_rules.alert_id`, created with
``op_type=create`` (SQLite: primary key) so exactly one worker wins it. Fields::

    kind          alert | digest | silence | lease
    status        pending -> sent | partial | failed     (an alert or digest being delivered)
                  queued  -> digested                     (an alert of a digest rule)
    window_start  article time of the first match: later articles of the story within the
                  rule's realert window belong to this entry (generation); later ones open
                  generation + 1
    owner, lease_until, lease_epoch   who is delivering a pending entry, until when
    deliveries    {"<channel index>": {"channel", "status": sent|failed|pending, "error"}}
    rounds        delivery rounds that ended with a transient failure
    articles, sources, size           the story as it grew (updated on each new article)

The payload sent is rebuilt from the entry, so a retry sends what the first attempt sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from alert.fragments import fragments
from alert.rules import Rule
from alert.templates import discover_link, local_time


def event_time(doc: Mapping[str, Any], fallback: datetime) -> datetime:
    """The article's own time (first fetched), so replays decide as the first pass did."""
    for name in ("fetched", "tagged"):
        value = doc.get(name)
        if value:
            try:
                when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                continue
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    return fallback


def alert_payload(rule: Rule, doc: Mapping[str, Any], matched: list[str]) -> dict[str, Any]:
    """The webhook body (contract: rule, story_id, article_id, title, url, published, matched,
    actors)."""
    payload = {
        "kind": "alert",
        "rule": rule.name,
        "query": rule.query,
        "story_id": doc["story_id"],
        "article_id": doc["article_id"],
        "title": doc.get("title", ""),
        "url": doc.get("url", ""),
        "source": doc.get("source", ""),
        "published": doc.get("published"),
        "time": local_time(doc.get("published"), rule.timezone),
        "timezone": rule.timezone.key,
        "matched": matched,
        "fragments": fragments(doc, matched),
        "actors": list(doc.get("actor", [])),
        "topics": list(doc.get("topic", [])),
    }
    if rule.kibana_url:
        query = f'({rule.query}) AND story_id:"{doc["story_id"]}"'
        payload["discover"] = discover_link(rule.kibana_url, query, doc.get("published"))
    return payload


PAYLOAD_KEYS = (
    "kind rule query story_id article_id title url source published time timezone matched "
    "actors topics discover alert_id fragments summary spike stories top_sources "
    "feed feed_name signal state since detail http_status".split()
)


def delivery_fields(rule: Rule, owner: str, now: datetime, period: str | None) -> dict[str, Any]:
    """The ledger fields of a new entry about to be sent (``pending``, leased to ``owner``)
    or, with a digest ``period``, queued for that period's digest."""
    fields: dict[str, Any] = {
        "status": "queued" if period is not None else "pending",
        "owner": owner,
        "lease_until": (now + rule.lease).isoformat(),
        "lease_epoch": 0,
        "created": now.isoformat(),
        "channels": [getattr(c, "label", c.kind) for c in rule.channels],
        "deliveries": {},
        "rounds": 0,
    }
    if period is not None:
        fields["period"] = period
    return fields


def digest_copy(entry: Mapping[str, Any], period: str, now: datetime) -> dict[str, Any]:
    """The queued twin of an alert sent at once that also belongs in its period's digest
    (rules with ``digest`` and ``immediate``)."""
    return {**payload_of(entry), "status": "queued", "period": period,
            "created": now.isoformat(), "copy": True}


def new_entry(
    rule: Rule, doc: Mapping[str, Any], matched: list[str], *, generation: int,
    window_start: datetime, owner: str, now: datetime, period: str | None,
) -> dict[str, Any]:
    entry = {
        **alert_payload(rule, doc, matched),
        "generation": generation,
        "window_start": window_start.isoformat(),
        "status": "queued" if period is not None else "pending",
        "owner": owner,
        "lease_until": (now + rule.lease).isoformat(),
        "lease_epoch": 0,
        "created": now.isoformat(),
        "channels": [getattr(c, "label", c.kind) for c in rule.channels],
        "deliveries": {},
        "rounds": 0,
        "articles": [doc["article_id"]],
        "sources": [doc["source"]] if doc.get("source") else [],
        "size": 1,
    }
    if period is not None:
        entry["period"] = period
    return entry


def payload_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: entry[k] for k in PAYLOAD_KEYS if k in entry}


def in_window(rule: Rule, entry: Mapping[str, Any], when: datetime) -> bool:
    """Does an article at ``when`` belong to this entry's realert window?"""
    if rule.realert is None:
        return True
    start = datetime.fromisoformat(str(entry["window_start"]))
    return when < start + rule.realert


def grown(entry: Mapping[str, Any], doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fields to update when ``doc`` is a new article of the entry's story, else None."""
    articles = list(entry.get("articles") or [])
    if doc["article_id"] in articles:
        return None
    sources = list(entry.get("sources") or [])
    if doc.get("source") and doc["source"] not in sources:
        sources.append(doc["source"])
    return {"articles": [*articles, doc["article_id"]], "sources": sources,
            "size": len(articles) + 1}
