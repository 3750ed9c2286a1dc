"""The end checks of a chaos run, read from Elasticsearch, Kafka and the webhook receiver.

* every article in Elasticsearch exactly once (``duplicates``, ``losses``);
* every (rule, story) with a matching article in Elasticsearch alerted exactly once at the
  receiver (``double_alerts`` counts alerts beyond the first — distinct delivery ids;
  ``redeliveries`` the repeats of one delivery id, which receivers drop; ``alert_losses`` the pairs
  never alerted, ``unexpected_alerts`` pairs no stored article explains);
* the dead-letter topic holds exactly the poison records the harness injected;
* every near-duplicate group has exactly one ``story_id`` and no two groups share one
  (:mod:`chaos.stories`); a split or merged group is logged with its articles, their stories
  and whether their stored texts are still pairwise the same story by the clustering's rules
  (no: the world is to blame, not the story protocol).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any

from chaos.stories import StoryReport, check
from chaos.world import FeedWorld, Receiver

if TYPE_CHECKING:
    from chaos.harness import ChaosResult

log = logging.getLogger("chaos")

RULES = (
    ("peace-watch", "ceasefire OR talks"),
    ("putin-watch", 'actor:"Vladimir Putin"'),
)
FIELDS = ["article_id", "story_id", "title", "text"]


@dataclass(frozen=True)
class Target:
    bus: str
    store: str
    namespace: str


def es_client(store: str) -> Any:
    from elasticsearch import Elasticsearch

    return Elasticsearch(store, request_timeout=60)


def count(t: Target) -> int:
    from index.layout import load_layout

    es = es_client(t.store)
    try:
        alias = load_layout(t.namespace).alias
        es.indices.refresh(index=alias, ignore_unavailable=True)
        return int(es.count(index=alias)["count"])
    except Exception:
        return 0
    finally:
        es.close()


def scan(t: Target, index: str, query: dict[str, Any], fields: list[str]) -> list[dict[str, Any]]:
    from elasticsearch import helpers

    es = es_client(t.store)
    try:
        es.indices.refresh(index=index, ignore_unavailable=True)
        return [
            h["_source"]
            for h in helpers.scan(
                es, index=index, query={"query": query}, size=2000, _source=fields
            )
        ]
    finally:
        es.close()


def verify(
    t: Target, world: FeedWorld, receiver: Receiver, poison: set[str], result: ChaosResult
) -> None:
    from index.layout import load_layout
    from newsmon.schema import article_id

    alias = load_layout(t.namespace).alias
    item_of = {article_id(world.url(item)): item.n for item in world.items}
    docs = scan(t, alias, {"match_all": {}}, FIELDS)
    ids = Counter(str(d["article_id"]) for d in docs)
    result.stored = len(ids)
    result.duplicates = sum(n - 1 for n in ids.values())
    result.losses = len(item_of.keys() - ids.keys())
    want: set[tuple[str, str]] = set()
    for name, query in RULES:
        q = {"query_string": {"query": query, "default_operator": "OR", "analyze_wildcard": True}}
        want |= {(name, str(d["story_id"])) for d in scan(t, alias, q, FIELDS[:2])}
    snapshot = receiver.snapshot()
    # a receiver drops a repeat of a delivery id (X-Newsmon-Delivery): an alerter killed
    # after the webhook took an alert and before the ledger recorded it sends it again under
    # the same id (documented in alert/stage.py) — counted apart, as redeliveries
    distinct = {(str(c.get("rule")), str(c.get("story_id")), c.get("_delivery")) for c in snapshot}
    calls = Counter((rule, story) for rule, story, _ in distinct)
    result.alerts_expected = len(want)
    result.alerts_delivered = len(snapshot)
    result.redeliveries = len(snapshot) - len(distinct)
    result.double_alerts = sum(n - 1 for n in calls.values())
    result.alert_losses = len(want - calls.keys())
    result.unexpected_alerts = len(calls.keys() - want)
    stored = {item_of[str(d["article_id"])]: d for d in docs if str(d["article_id"]) in item_of}
    verify_stories(world, stored, result)
    verify_dead_letters(t, poison, result)


def verify_stories(
    world: FeedWorld, stored: Mapping[int, dict[str, Any]], result: ChaosResult
) -> StoryReport:
    groups = {item.n: item.group for item in world.items}
    stories = {n: str(d["story_id"]) for n, d in stored.items()}
    report = check(groups, stories)
    result.stories_by_item, result.groups_by_item = stories, groups
    result.near_duplicates = sum(item.copy for item in world.items)
    result.near_duplicate_share = round(result.near_duplicates / max(1, len(world.items)), 3)
    result.groups, result.stories = report.groups, report.stories
    result.split_groups, result.merged_groups = report.split_groups, report.merged_groups
    result.story_examples = report.examples()
    for group, by_story in sorted(report.split.items()):
        items = [n for ns in by_story.values() for n in ns]
        log.warning(
            "split group=%d stories=%s same_story_pairwise=%s",
            group,
            by_story,
            _pairwise_same(stored, items),
        )
    for story, gs in sorted(report.merged.items()):
        log.warning(
            "merged story=%s groups=%s items=%s",
            story,
            gs,
            sorted(n for n, s in stories.items() if s == story),
        )
    return report


def _pairwise_same(stored: Mapping[int, dict[str, Any]], items: list[int]) -> bool:
    """Are the stored texts still pairwise the same story by the clustering's rules?"""
    from process.story import ClusterConfig, same_story, signature

    sigs = [
        signature(str(stored[n].get("title", "")), str(stored[n].get("text", ""))) for n in items
    ]
    return all(same_story(a, b, ClusterConfig()) for a, b in combinations(sigs, 2))


def verify_dead_letters(t: Target, poison: set[str], result: ChaosResult) -> None:
    from newsmon import deadletter
    from newsmon.adapters.kafka_bus import KafkaBus

    bus = KafkaBus(t.bus, prefix=t.namespace)
    try:
        found = deadletter.letters(bus, timeout=30)
    finally:
        bus.close()
    keys = {lt.key for lt in found}
    result.dead_letters = len(found)
    result.unexpected_dead_letters = sum(1 for lt in found if lt.key not in poison)
    result.missing_dead_letters = len(poison - keys)
    for lt in found:
        if lt.key not in poison:
            log.warning("unexpected dead letter %s", lt.summary())


def cleanup(t: Target) -> None:
    """Delete the run's indices and topics (best effort: a leftover namespace harms nobody)."""
    ns = t.namespace
    try:
        es = es_client(t.store)
        names = list(es.indices.get(index=f"{ns}*", allow_no_indices=True))
        if names:  # by name: wildcard deletes are refused (action.destructive_requires_name)
            es.indices.delete(index=",".join(names), ignore_unavailable=True)
        es.close()
        from kafka import KafkaAdminClient

        from newsmon.adapters.kafka_bus import bootstrap_servers

        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers(t.bus))
        topics = [x for x in admin.list_topics() if x.startswith(ns)]
        if topics:
            admin.delete_topics(topics)
        admin.close()
    except Exception as exc:
        log.warning("cleanup of %s failed: %s", ns, exc)
