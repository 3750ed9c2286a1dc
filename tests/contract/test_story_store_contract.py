"""One contract for every StoryStore (memory, SQLite, real Elasticsearch), and the story
protocol on each: two processors sharing a store end with one story per near-duplicate group,
whoever claims first."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from newsmon.errors import TransientError
from newsmon.schema import RawArticle
from newsmon.stories import MemoryStories, StoryRecord, StoryStore
from process.story import StoryClusterer
from tests.unit.process.test_story import dev_articles, rewire

T0 = datetime(2025, 5, 11, 12, tzinfo=UTC)


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("elasticsearch", marks=pytest.mark.integration)]
)
def stories(request: pytest.FixtureRequest, unique: str, tmp_path: Path) -> Iterator[StoryStore]:
    if request.param == "memory":
        yield MemoryStories()
        return
    if request.param == "sqlite":
        from newsmon.adapters.sqlite_stories import SqliteStories

        sqlite = SqliteStories(tmp_path / "news.db")
        yield sqlite
        sqlite.close()
        return
    from newsmon.adapters.es_stories import EsStories

    services = request.getfixturevalue("services")
    es = EsStories(services.store, f"t{unique}-")
    es.ensure_schema()
    yield es
    es.drop()
    es.close()


def rec(aid: str, ts: float = 100.0, story: str | None = None, **kw: object) -> StoryRecord:
    return StoryRecord(aid, story or aid, ts, b"\x01\x02", 10, 10, 50, **kw)  # type: ignore[arg-type]


def test_records_are_created_once_and_read_back(stories: StoryStore) -> None:
    assert stories.create_records([rec("a"), rec("b")]) == {"a", "b"}
    assert stories.create_records([rec("a", story="x"), rec("c")]) == {"c"}  # a exists
    got = stories.records(["a", "b", "zz"])
    assert set(got) == {"a", "b"} and got["a"].story_id == "a" and got["a"].sig == b"\x01\x02"
    stories.update_records([rec("a", story="b", settled=True, ents=frozenset({"Kyiv"}))])
    again = stories.records(["a"])["a"]
    assert (again.story_id, again.settled, again.ents) == ("b", True, frozenset({"Kyiv"}))


def test_the_first_claim_of_a_band_wins(stories: StoryStore) -> None:
    stories.create_records([rec("a"), rec("b")])
    assert stories.claim_bands({"k1": "a", "k2": "a"}) == {"k1": "a", "k2": "a"}
    assert stories.claim_bands({"k2": "b", "k3": "b"}) == {"k2": "a", "k3": "b"}
    assert stories.band_owners(["k1", "k2", "k3", "k4"]) == {"k1": "a", "k2": "a", "k3": "b"}


def test_nearest_reads_other_languages_in_the_window(stories: StoryStore) -> None:
    v = np.zeros(384, dtype=np.float32)
    v[0] = 1.0
    w = np.zeros(384, dtype=np.float32)
    w[:2] = (0.6, 0.8)
    stories.create_records(
        [
            rec("en1", 100.0, vec=v, lang="en"),
            rec("ru1", 100.0, vec=w, lang="ru"),
            rec("ru-late", 10_000.0, vec=v, lang="ru"),
            rec("uk1", 150.0, vec=v, lang="uk"),
        ]
    )
    refresh = getattr(stories, "_es", None)
    if refresh is not None:
        refresh.indices.refresh(index=stories.records_index)  # type: ignore[attr-defined]
    found = stories.nearest(v, 0.0, 1000.0, "en", 5)
    assert [r.article_id for r, _ in found] == ["uk1", "ru1"]
    assert found[0][1] == pytest.approx(1.0, abs=1e-3) and found[1][1] == pytest.approx(
        0.6, abs=1e-3
    )


def test_prune_forgets_old_bands_and_records(stories: StoryStore) -> None:
    stories.create_records([rec("old", 10.0), rec("new", 1000.0)])
    stories.claim_bands({"k-old": "old", "k-new": "new"})
    _settle_deletes(stories)
    stories.prune(bands_before=500.0, records_before=5.0)
    assert stories.band_owners(["k-old", "k-new"]) == {"k-new": "new"}
    assert set(stories.records(["old", "new"])) == {"old", "new"}
    stories.prune(bands_before=500.0, records_before=500.0)
    assert set(stories.records(["old", "new"])) == {"new"}


def _settle_deletes(stories: StoryStore) -> None:
    """Elasticsearch's search (which pruning reads) sees what was refreshed."""
    es = getattr(stories, "_es", None)
    if es is not None:
        es.indices.refresh(index=[stories.bands_index, stories.records_index])  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the protocol, N processors


def _stream(n_groups: int, copies: int, seed: int) -> tuple[list[RawArticle], dict[str, int]]:
    """Near-duplicate groups of real articles (rewired copies), shuffled."""
    rng = random.Random(seed)
    base = dev_articles()[:n_groups]
    arts, group = [], {}
    for g, a in enumerate(base):
        for c in range(copies):
            title, text = (a["title"], a["text"]) if c == 0 else rewire(a["title"], a["text"], rng)
            aid = f"{g:02d}{c:02d}".ljust(32, "0")
            when = T0 + timedelta(minutes=rng.randrange(60))
            arts.append(
                RawArticle(
                    article_id=aid,
                    url=f"urn:{aid}",
                    title=title,
                    text=text,
                    published=when,
                    fetched=when,
                )
            )
            group[aid] = g
    rng.shuffle(arts)
    return arts, group


def test_two_processors_racing_end_with_one_story_per_group(stories: StoryStore) -> None:
    arts, group = _stream(n_groups=12, copies=4, seed=3)
    halves = [arts[0::2], arts[1::2]]  # two partitions, two processors, at the same time
    results: dict[str, str] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(part: list[RawArticle]) -> None:
        clusterer = StoryClusterer(store=stories)
        try:
            start.wait()
            for i in range(0, len(part), 4):
                batch = part[i : i + 4]
                ids = clusterer.assign_batch(batch, commit=False)
                ids = clusterer.link_batch([a.article_id for a in batch], [()] * len(batch))
                results.update(zip((a.article_id for a in batch), ids, strict=True))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(h,)) for h in halves]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    stored = {a: r.story_id for a, r in stories.records(results).items()}
    assert stored == results  # what was published is what the store holds
    by_group: dict[int, set[str]] = {}
    for aid, story in results.items():
        by_group.setdefault(group[aid], set()).add(story)
    split = {g: s for g, s in by_group.items() if len(s) > 1}
    assert not split, split
    assert len({s for ss in by_group.values() for s in ss}) == 12  # and groups never merge


def test_one_processor_and_two_give_the_same_partition(stories: StoryStore) -> None:
    arts, _ = _stream(n_groups=8, copies=3, seed=5)
    arts.sort(key=lambda a: (a.published, a.article_id))
    one = StoryClusterer().assign_batch(arts)
    parts: dict[str, str] = {}
    first, second = StoryClusterer(store=stories), StoryClusterer(store=stories)
    for i, a in enumerate(arts):  # alternating partitions, in event order
        parts[a.article_id] = (first if i % 2 else second).assign_batch([a])[0]
    assert _partition(dict(zip((a.article_id for a in arts), one, strict=True))) == _partition(
        parts
    )


def _partition(stories: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for aid, story in stories.items():
        groups.setdefault(story, set()).add(aid)
    return {frozenset(g) for g in groups.values()}


def test_an_unreachable_store_is_transient_never_a_local_story() -> None:
    class Down(MemoryStories):
        def band_owners(self, keys):  # type: ignore[no-untyped-def, override]
            raise TransientError("story store down")

    a = dev_articles()[0]
    clusterer = StoryClusterer(store=Down())
    art = RawArticle(
        article_id="a" * 32, url="urn:a", title=a["title"], text=a["text"], published=T0, fetched=T0
    )
    with pytest.raises(TransientError):
        clusterer.assign_batch([art])


@pytest.mark.integration
def test_story_indices_take_the_configured_primaries(services: object, unique: str) -> None:
    from newsmon.adapters.es_stories import EsStories

    es = EsStories(services.store, f"t{unique}-", shards=2)  # type: ignore[attr-defined]
    try:
        es.ensure_schema()
        for index in (es.bands_index, es.records_index):
            got = es._es.indices.get_settings(index=index)[index]["settings"]["index"]
            assert got["number_of_shards"] == "2"
    finally:
        es.drop()
        es.close()
