"""The indexer on real Kafka + Elasticsearch: a 10,000-article bulk with poison documents,
exactly-once, dead letters with reasons, and a full replay that changes no count."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from index.batching import BatchingConsumer
from index.layout import load_layout
from index.stage import IndexStage
from newsmon.adapters.es_store import ElasticsearchStore
from newsmon.adapters.kafka_bus import KafkaBus
from newsmon.bus import DEADLETTER_TOPIC, TAGGED_TOPIC, Bus, Consumer, Record
from newsmon.documents import SearchDocument, decode_exact
from newsmon.runtime import process_batch
from newsmon.schema import Actor, TaggedArticle, Topic, article_id, encode
from newsmon.store import RolloverPolicy

pytestmark = pytest.mark.integration

T0 = datetime(2025, 5, 1, tzinfo=UTC)
ACTORS = ["Vladimir Putin", "Volodymyr Zelensky", "Donald Trump", "Recep Tayyip Erdogan"]
NO_ROLLOVER = RolloverPolicy(max_docs=None, max_size=None, max_age=None)


def article(i: int, **extra: Any) -> TaggedArticle:
    url = extra.pop("url", f"https://wire.example/{i}")
    return TaggedArticle(
        article_id=article_id(url), url=url, title=f"Talks in Istanbul, day {i}",
        text=f"Negotiators discussed a ceasefire (item {i}).", source=f"Wire {i % 5}",
        published=T0 + timedelta(hours=i % 240), fetched=T0, story_id=f"s{i // 3}", tagged=T0,
        topics=(Topic(name="peace_talks", score=0.9),) if i % 2 else (),
        actors=(Actor(name=ACTORS[i % 4], type="person", salience=0.8, **extra),),
    )


def poison() -> list[tuple[bytes, str]]:
    """(payload, what the dead letter's error must say)."""
    bad_date = json.loads(encode(article(10_001)))
    bad_date["published"] = "not a date"
    out = [(json.dumps(bad_date).encode(), "published")]
    out += [(encode(article(10_002 + i, url="https://wire.example/" + "x" * 40_000 + str(i))),
             "immense term") for i in range(2)]
    out += [(encode(article(10_010 + i, mentions=10**12)), "mentions") for i in range(2)]
    return out


@pytest.fixture
def es_store(services: Any, unique: str) -> Iterator[ElasticsearchStore]:
    store = ElasticsearchStore(services.store, load_layout(f"t{unique}-"))
    store.ensure_schema()
    yield store
    drop(store, f"t{unique}-")


def drop(store: ElasticsearchStore, ns: str) -> None:
    """Delete the namespace ``ns`` the store was opened on."""
    assert store.alias.startswith(ns)
    store.drop()
    store.close()


def consume(stage: IndexStage, bus: Bus, consumer: Consumer, expected: int,
            timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while stage.written + stage.duplicates + stage.dead_letters < expected:
        assert time.monotonic() < deadline, "indexer did not finish in time"
        records = consumer.poll(timeout=1.0)
        if records:
            process_batch(stage, bus, consumer, records)


def read_all(consumer: Consumer, n: int, timeout: float = 60) -> list[Record]:
    out: list[Record] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        out += consumer.poll(timeout=1.0)
    return out


def duplicate_ids(store: ElasticsearchStore) -> list[Any]:
    resp = store.client.search(index=store.alias, size=0, aggs={"ids": {"terms": {
        "field": "article_id", "min_doc_count": 2, "size": 10}}})
    return list(resp["aggregations"]["ids"]["buckets"])


def test_10k_bulk_with_poison_exactly_once_and_replay(
    services: Any, unique: str, es_store: ElasticsearchStore
) -> None:
    n = 10_000
    bus = KafkaBus(services.bus, partitions=3, prefix=f"t{unique}-")
    bus.ensure_topics()
    bad = poison()
    for i in range(n):
        a = article(i)
        bus.publish(TAGGED_TOPIC, a.article_id, encode(a))
        if i % 2000 == 0 and bad:
            payload, _ = bad[len(bad) - 1 - (i // 2000) % len(bad)]
            bus.publish(TAGGED_TOPIC, None, payload)
    for payload, _ in bad:
        bus.publish(TAGGED_TOPIC, None, payload)
    bus.flush()
    total = n + len(bad) + 5  # five poison copies interleaved above

    stage = IndexStage(es_store, policy=NO_ROLLOVER)
    consumer = BatchingConsumer(bus.consumer("index", [TAGGED_TOPIC]), max_records=1000)
    started = time.perf_counter()
    consume(stage, bus, consumer, total)
    elapsed = time.perf_counter() - started
    consumer.close()
    print(f"\n10k bulk through IndexStage from Kafka: {elapsed:.1f}s "
          f"({n / elapsed:.0f} articles/s)")
    es_store.refresh()
    assert stage.written == n and es_store.count() == n and not duplicate_ids(es_store)
    assert stage.dead_letters == len(bad) + 5

    letters = read_all(bus.consumer("dlq-reader", [DEADLETTER_TOPIC]), len(bad) + 5)
    assert len(letters) == len(bad) + 5
    errors = [r.headers["error"].decode() for r in letters]
    assert all(r.headers["stage"] == b"index" for r in letters)
    for _, reason in bad:
        assert any(reason in e for e in errors), (reason, [e[:200] for e in errors])
    assert all(len(e) < 1200 for e in errors)  # the offending value is not quoted in full
    assert all(e.startswith(("not a valid TaggedArticle: published", "store rejected document"))
               for e in errors)

    replay = IndexStage(es_store, policy=NO_ROLLOVER)
    again = BatchingConsumer(bus.consumer("index-replay", [TAGGED_TOPIC]), max_records=1000)
    consume(replay, bus, again, total)
    again.close()
    es_store.refresh()
    assert replay.written == 0 and replay.duplicates == n
    assert es_store.count() == n and not duplicate_ids(es_store)
    bus.close()


def test_a_message_elasticsearch_would_reject_verbatim_is_indexed_canonically(
    es_store: ElasticsearchStore,
) -> None:
    """pydantic reads '2025-05-01 00:00:00Z' (a space for the 'T') as a date; Elasticsearch's
    date parser does not. The verbatim document is rejected, the canonical one is indexed."""
    payload = encode(article(1)).replace(
        b'"fetched":"2025-05-01T00:00:00Z"', b'"fetched":"2025-05-01 00:00:00Z"'
    )
    exact = decode_exact(payload)
    assert exact is not None
    probe = es_store.write_articles([SearchDocument.verbatim(exact, payload, ingested=T0)])
    assert probe.written == [] and "fetched" in probe.failed[0][1]  # ES refuses it as sent

    stage = IndexStage(es_store, policy=NO_ROLLOVER)
    assert stage.handle([Record(TAGGED_TOPIC, 0, 0, None, payload)]) == []
    es_store.refresh()
    assert stage.written == 1 and es_store.count() == 1
    assert es_store.get(exact.article_id)["fetched"] == "2025-05-01T00:00:00Z"  # type: ignore[index]
