"""The content-hash cache: identical content is tagged once, in a batch and across batches."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from newsmon.schema import Actor, Tags
from process.cache import TagCache, content_key, tag_cached

from .conftest import DEV


class CountingTagger:
    def __init__(self) -> None:
        self.calls: list[list[tuple[str, str]]] = []

    def tag_batch(self, items: Sequence[tuple[str, str]]) -> list[Tags]:
        self.calls.append(list(items))
        return [Tags(actors=(Actor(name=title, type="person", salience=0.5),), lang=text[:2])
                for title, text in items]

    @property
    def tagged(self) -> int:
        return sum(len(c) for c in self.calls)


def test_content_key_ignores_whitespace_only() -> None:
    key = content_key("Putin  speaks", "He said\n\nno.")
    assert key == content_key(" Putin speaks ", "He said no.")
    assert key != content_key("putin speaks", "He said no.")  # case changes what NER sees
    assert key != content_key("Putin speaks He said", "no.")  # title and text stay apart


def test_repeats_within_a_batch_are_tagged_once_and_keep_their_order() -> None:
    tagger, cache = CountingTagger(), TagCache()
    items = [("A", "one"), ("B", "two"), ("A", "one"), ("A ", " one")]
    tags = tag_cached(tagger, cache, items)
    assert tagger.calls == [[("A", "one"), ("B", "two")]]
    assert [t.actors[0].name for t in tags] == ["A", "B", "A", "A"]


def test_a_cache_hit_skips_the_tagger() -> None:
    tagger, cache = CountingTagger(), TagCache()
    first = tag_cached(tagger, cache, [("A", "one"), ("B", "two")])
    second = tag_cached(tagger, cache, [("B", "two"), ("A", "one")])
    assert len(tagger.calls) == 1 and second == first[::-1]
    tag_cached(tagger, cache, [("A", "one"), ("C", "three")])
    assert tagger.calls[-1] == [("C", "three")]
    assert (cache.hits, cache.misses) == (3, 3)


def test_cache_is_a_bounded_lru() -> None:
    tagger, cache = CountingTagger(), TagCache(max_entries=2)
    tag_cached(tagger, cache, [("A", "1"), ("B", "2")])
    tag_cached(tagger, cache, [("A", "1")])  # A is now the most recent
    tag_cached(tagger, cache, [("C", "3")])  # evicts B
    assert len(cache) == 2
    tag_cached(tagger, cache, [("A", "1"), ("B", "2")])
    assert tagger.calls[-1] == [("B", "2")]


def test_size_zero_disables_caching() -> None:
    tagger = CountingTagger()
    cache = TagCache(max_entries=0)
    tag_cached(tagger, cache, [("A", "1")])
    tag_cached(tagger, cache, [("A", "1")])
    assert tagger.tagged == 2 and len(cache) == 0


@pytest.mark.model
def test_cached_tags_equal_tagging_each_batch_whole(model_tagger) -> None:  # type: ignore[no-untyped-def]
    """Tagging only the distinct texts gives each the tags it gets in a full batch."""
    items = [(a["title"], a["text"]) for a in map(json.loads, (DEV / "articles.jsonl").open())]
    batch = items[:12] + items[:6] + items[20:26]
    direct = model_tagger.tag_batch(batch)
    cached = tag_cached(model_tagger, TagCache(), batch)
    assert cached == direct
