"""The tagging stage: story ids from the clusterer, tags through the cache, dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from newsmon.bus import DEADLETTER_TOPIC, RAW_TOPIC, TAGGED_TOPIC, MemoryBus
from newsmon.runtime import drain
from newsmon.schema import RawArticle, TaggedArticle, Tags, article_id, decode, encode
from process.cache import TagCache
from process.stage import ProcessStage
from process.story import StoryClusterer

NOW = datetime(2025, 5, 11, 12, tzinfo=UTC)
WIRE = (
    "Ukraine and Russia exchanged hundreds of prisoners of war on Saturday in the largest swap "
    "since the full-scale invasion began, officials in Kyiv and Moscow said, after talks in "
    "Istanbul that produced no agreement on a ceasefire but a promise to meet again."
)


class CountingTagger:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def tag_batch(self, items: Sequence[tuple[str, str]]) -> list[Tags]:
        self.items.extend(items)
        return [Tags(lang="en") for _ in items]


def raw(url: str, title: str, text: str) -> RawArticle:
    return RawArticle(article_id=article_id(url), url=url, title=title, text=text, fetched=NOW)


def run(bus: MemoryBus, stage: ProcessStage, *articles: RawArticle) -> list[TaggedArticle]:
    before = len(bus.records(TAGGED_TOPIC))
    for a in articles:
        bus.publish(RAW_TOPIC, a.article_id, encode(a))
    drain(stage, bus, bus.consumer("newsmon-process", stage.topics))
    return [decode(TaggedArticle, r.value) for r in bus.records(TAGGED_TOPIC)[before:]]


def test_syndicated_copies_share_a_story_and_identical_content_is_tagged_once() -> None:
    bus, tagger = MemoryBus(), CountingTagger()
    stage = ProcessStage(bus, tagger, lambda: NOW)  # the positional signature still works
    original = raw("https://wire.example/swap", "Hundreds of POWs swapped", WIRE)
    same = raw("https://paper.example/swap", "Hundreds of POWs swapped", WIRE)
    edited = raw("https://other.example/swap", "Biggest prisoner swap of the war",
                 f"KYIV (Reuters) - {WIRE} Reporting by Jane Doe.")
    other = raw("https://ex.example/grain", "Grain ship sails", "The first grain ship left "
                "Odesa on Monday under a deal brokered by Turkey and the United Nations.")
    out = run(bus, stage, original, same, edited, other)
    assert [a.story_id for a in out] == [original.article_id] * 3 + [other.article_id]
    assert len(tagger.items) == 3  # "same" was served from the cache
    assert all(a.tagged == NOW and a.lang == "en" for a in out)
    assert [r.key for r in bus.records(TAGGED_TOPIC)] == [a.article_id for a in out]


def test_cache_hits_across_batches_skip_the_tagger() -> None:
    bus, tagger = MemoryBus(), CountingTagger()
    stage = ProcessStage(bus, tagger, lambda: NOW, cache=TagCache(max_entries=10))
    run(bus, stage, raw("https://a.example/1", "Swap", WIRE))
    run(bus, stage, raw("https://b.example/1", "Swap", WIRE))
    assert len(tagger.items) == 1 and stage.cache.hits == 1


def test_poison_is_dead_lettered_and_the_rest_published() -> None:
    bus = MemoryBus()
    stage = ProcessStage(bus, CountingTagger(), lambda: NOW)
    bus.publish(RAW_TOPIC, "bad", b"{not json")
    out = run(bus, stage, raw("https://a.example/1", "Swap", WIRE))
    dead = bus.records(DEADLETTER_TOPIC)
    assert len(out) == 1 and len(dead) == 1 and dead[0].key == "bad"


def test_a_restarted_stage_keeps_story_ids(tmp_path: Path) -> None:
    path = tmp_path / "process.sqlite3"
    first = raw("https://a.example/1", "Swap", WIRE)
    bus = MemoryBus()
    stage = ProcessStage(bus, CountingTagger(), lambda: NOW, clusterer=StoryClusterer.open(path))
    run(bus, stage, first)
    stage.close()

    bus = MemoryBus()  # a new process: the copy and a redelivery of the first
    stage = ProcessStage(bus, CountingTagger(), lambda: NOW, clusterer=StoryClusterer.open(path))
    copy = raw("https://b.example/2", "POWs freed", f"{WIRE} More to follow.")
    out = run(bus, stage, copy, first)
    stage.close()
    assert [a.story_id for a in out] == [first.article_id, first.article_id]
