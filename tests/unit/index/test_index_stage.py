"""IndexStage outcomes and rollover checks; BatchingConsumer limits; the schema comparison."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from index.batching import BatchingConsumer
from index.layout import load_layout
from index.schema_check import normalise, schema_problems
from index.stage import IndexStage
from newsmon.bus import TAGGED_TOPIC, MemoryBus, Record
from newsmon.documents import SearchDocument
from newsmon.schema import TaggedArticle, article_id, decode, encode
from newsmon.store import MemoryStore, RolloverPolicy, WriteResult

T0 = datetime(2025, 5, 20, 12, 0, tzinfo=UTC)


def tagged(i: int) -> bytes:
    url = f"https://example.com/{i}"
    return encode(TaggedArticle(article_id=article_id(url), url=url, title=f"t{i}", fetched=T0,
                                story_id=f"s{i}", tagged=T0))


def rec(value: bytes, offset: int = 0) -> Record:
    return Record(TAGGED_TOPIC, 0, offset, None, value)


class RollingMemoryStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.checks: list[RolloverPolicy] = []

    def rollover(self, policy: RolloverPolicy) -> str | None:
        self.checks.append(policy)
        return f"idx-{len(self.checks):06d}" if len(self.checks) == 2 else None


def test_stage_counts_written_duplicates_and_dead_letters() -> None:
    stage = IndexStage(MemoryStore(), clock=lambda: T0)
    letters = stage.handle([rec(tagged(1)), rec(tagged(1), 1), rec(b'{"nope": 1}', 2)])
    assert stage.written == 1 and stage.duplicates == 1 and len(letters) == 1
    assert "not a valid TaggedArticle" in letters[0].error
    assert stage.handle([rec(tagged(1)), rec(tagged(2))]) == []
    assert stage.written == 2 and stage.duplicates == 2


def test_stage_checks_rollover_every_interval() -> None:
    now = [T0]
    store = RollingMemoryStore()
    stage = IndexStage(store, clock=lambda: now[0], policy=RolloverPolicy(max_docs=5,
                                                                          check_every=60))
    stage.handle([rec(tagged(1))])
    stage.handle([rec(tagged(2))])  # within 60 s: no check
    assert len(store.checks) == 1 and store.checks[0].conditions() == {
        "max_docs": 5, "max_primary_shard_size": "50gb", "max_age": "30d"}
    now[0] = T0 + timedelta(seconds=61)
    stage.handle([rec(tagged(3))])
    assert len(store.checks) == 2 and stage.rollovers == ["idx-000002"]


def test_batching_consumer_by_count_and_bytes() -> None:
    bus = MemoryBus()
    for _ in range(25):
        bus.publish(TAGGED_TOPIC, None, b"x" * 100)
    consumer = BatchingConsumer(bus.consumer("g", [TAGGED_TOPIC]), max_records=10,
                                max_bytes=10_000, linger=0.2)
    assert len(consumer.poll()) == 10
    consumer.commit()
    by_bytes = BatchingConsumer(bus.consumer("g", [TAGGED_TOPIC]), max_records=100,
                                max_bytes=250, linger=0.2)
    assert len(by_bytes.poll()) == 15  # bytes are checked after each inner poll
    by_bytes.rewind()
    assert len(by_bytes.poll()) == 15 and by_bytes.lag() == 15
    assert by_bytes.poll() == []


def live_copy(layout: Any) -> dict[str, Any]:
    """What Elasticsearch echoes back for a freshly created layout (values as strings)."""
    comps = {n: normalise(copy.deepcopy(b)) for n, b in layout.component_templates.items()}
    temps = {n: normalise(copy.deepcopy(b)) for n, b in layout.index_templates.items()}
    mappings: dict[str, Any] = {"properties": {}}
    for body in comps.values():
        m = body["template"].get("mappings", {})
        mappings["properties"].update(m.get("properties", {}))
        if "dynamic" in m:
            mappings["dynamic"] = m["dynamic"]
    alerts = temps[layout.alerts_index]["template"]["mappings"]
    return {"component_templates": comps, "index_templates": temps,
            "aliases": {layout.first_index: True},
            "mappings": {layout.first_index: mappings, layout.alerts_index: alerts}}


def test_schema_check_passes_on_the_shipped_layout_and_names_differences() -> None:
    layout = load_layout("ns-")
    live = live_copy(layout)
    assert schema_problems(layout, live) == []
    live["mappings"][layout.first_index]["properties"]["actor"]["type"] = "text"
    live["mappings"][layout.first_index]["properties"]["extra"] = {"type": "keyword"}
    del live["index_templates"]["ns-news-alerts"]
    live["aliases"]["ns-news-articles-000002"] = True
    problems = schema_problems(layout, live)
    assert "index ns-news-articles-000001: field actor: type is 'text', shipped 'keyword'" in (
        problems)
    assert "index ns-news-articles-000001: field extra is not in the shipped mapping" in problems
    assert "index template ns-news-alerts is missing" in problems
    assert any("2 write indices" in p for p in problems)


def test_every_copy_of_a_rejected_document_is_dead_lettered() -> None:
    from datetime import UTC, datetime

    from index.stage import IndexStage
    from newsmon.bus import Record
    from newsmon.schema import RawArticle, TaggedArticle, Tags, encode
    from newsmon.store import MemoryStore, WriteResult

    class Rejecting(MemoryStore):
        def write_articles(self, docs):  # type: ignore[no-untyped-def]
            return WriteResult(
                failed=[(str(d["article_id"]), "mapper_parsing_exception") for d in docs]
            )

    now = datetime(2025, 5, 1, tzinfo=UTC)
    raw = RawArticle(article_id="a1", url="https://x/1", fetched=now)
    value = encode(TaggedArticle.from_raw(raw, Tags(), "s1", now))
    records = [Record("t", 0, i, "a1", value) for i in range(3)]
    stage = IndexStage(Rejecting())
    letters = stage.handle(records)
    assert [letter.record.offset for letter in letters] == [0, 1, 2]
    assert stage.duplicates == 0


class StrictDateStore(MemoryStore):
    """Rejects a document whose JSON has a date Elasticsearch's date parser would not take
    (a space for the 'T'), as a mapping error; records every attempt."""

    def __init__(self, reject_always: str = "") -> None:
        super().__init__()
        self.attempts: list[tuple[str, bool]] = []
        self.reject_always = reject_always

    def write_articles(self, docs: Sequence[Mapping[str, Any]]) -> WriteResult:
        result, good = WriteResult(), []
        for doc in docs:
            assert isinstance(doc, SearchDocument)
            self.attempts.append((doc.article_id, doc.is_verbatim))
            body = json.loads(doc.encoded())
            if " " in body["fetched"] or doc.article_id == self.reject_always:
                result.failed.append((doc.article_id, "mapper_parsing_exception: fetched"))
            else:
                good.append(doc)
        accepted = super().write_articles(good)
        result.written.extend(accepted.written)
        result.duplicates.extend(accepted.duplicates)
        return result


def test_a_rejected_verbatim_document_is_sent_once_more_canonically() -> None:
    plain, odd = tagged(1), tagged(2).replace(b'"fetched":"2025-05-20T12:00:00Z"',
                                            b'"fetched":"2025-05-20 12:00:00Z"')
    store = StrictDateStore()
    stage = IndexStage(store, clock=lambda: T0)
    assert stage.handle([rec(plain), rec(odd, 1)]) == []
    id1, id2 = (decode(TaggedArticle, v).article_id for v in (plain, odd))
    assert store.attempts == [(id1, True), (id2, True), (id2, False)]
    assert stage.written == 2 and stage.dead_letters == 0
    assert store.get(id2)["fetched"] == "2025-05-20T12:00:00+00:00"  # type: ignore[index]


def test_a_document_rejected_in_both_forms_is_one_dead_letter_per_copy() -> None:
    value = tagged(3)
    doc_id = decode(TaggedArticle, value).article_id
    store = StrictDateStore(reject_always=doc_id)
    stage = IndexStage(store, clock=lambda: T0)
    letters = stage.handle([rec(value), rec(value, 1), rec(tagged(4), 2)])
    assert [letter.record.offset for letter in letters] == [0, 1]
    assert all("mapper_parsing_exception" in letter.error for letter in letters)
    assert store.attempts.count((doc_id, True)) == 1 and store.attempts.count((doc_id, False)) == 1
    assert stage.written == 1 and stage.dead_letters == 2
