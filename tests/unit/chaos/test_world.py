"""The chaos world: syndicated copies of the kinds the issue names, in other feeds, and a
ground truth the story clustering can reach from any order — so that a split or merged group
in a chaos run is the shared story protocol's doing."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from chaos.stories import check
from chaos.syndicate import Truth
from chaos.world import FeedWorld, Item, generate
from newsmon.schema import RawArticle
from process.story import StoryClusterer


@pytest.fixture(scope="module")
def world() -> list[Item]:
    return generate(600, 6, seed=11)


def stories_of(items: list[Item], batch: int = 32) -> dict[int, str]:
    """One processor, in memory, over ``items`` in the order given."""
    clusterer = StoryClusterer()
    arts = [
        RawArticle(
            article_id=f"a{i.n}",
            url=f"urn:a{i.n}",
            title=i.title,
            text=i.text,
            published=i.published,
            fetched=i.published,
        )
        for i in items
    ]
    out: dict[int, str] = {}
    for k in range(0, len(arts), batch):
        chunk = items[k : k + batch]
        for item, story in zip(chunk, clusterer.assign_batch(arts[k : k + batch]), strict=True):
            out[item.n] = story
    return out


def test_a_third_of_the_articles_are_copies_in_other_feeds(world: list[Item]) -> None:
    assert len(world) == 600 and [i.n for i in world] == list(range(600))
    copies = [i for i in world if i.copy]
    assert len(copies) == 210  # round(600 * 0.35)
    feeds: dict[int, list[int]] = defaultdict(list)
    for i in world:
        feeds[i.group].append(i.feed)
    assert all(len(fs) == len(set(fs)) for fs in feeds.values()), "one article per feed"
    sizes = Counter(len(fs) for fs in feeds.values())
    assert max(sizes) <= 5 and sizes[2] and sizes[3], sizes
    assert len({i.path for i in world}) == 600
    assert generate(600, 6, seed=11) == world, "a seed gives the same world"


def test_copies_are_re_headlined_trimmed_edited_and_reflowed(world: list[Item]) -> None:
    original = {i.group: i for i in world if not i.copy}
    copies = [i for i in world if i.copy]
    kinds: Counter[str] = Counter()
    for c in copies:
        o = original[c.group]
        ow, cw = o.text.split(), c.text.split()
        kinds["headline"] += c.title != o.title
        kinds["trimmed"] += len(cw) < 0.9 * len(ow)
        kinds["words changed"] += len(cw) >= 0.9 * len(ow) and cw != ow
        kinds["white space"] += cw == ow and c.text != o.text
        kinds["first"] += c.n < o.n  # released before its original
    share = {k: v / len(copies) for k, v in kinds.items()}
    assert share["headline"] > 0.7 and share["trimmed"] > 0.15, share
    assert share["words changed"] > 0.25 and share["white space"] > 0.03, share
    assert 0.05 < share["first"] < 0.4, share


@pytest.mark.parametrize("order", ["released", "shuffled", "reversed"])
def test_one_processor_finds_exactly_the_ground_truth_in_any_order(
    world: list[Item], order: str
) -> None:
    items = list(world)
    if order == "shuffled":
        random.Random(5).shuffle(items)
    elif order == "reversed":
        items.reverse()
    report = check({i.n: i.group for i in world}, stories_of(items))
    assert (report.split_groups, report.merged_groups) == (0, 0), report.examples()
    assert report.groups == len({i.group for i in world if i.copy})


def test_the_texts_ingest_reads_from_the_feeds_keep_the_truth(world: list[Item]) -> None:
    """What the clustering sees is what ingest parses out of the served RSS, not the drafts."""
    from ingest.parse import parse_feed
    from newsmon.config import FeedConfig

    served = FeedWorld(world, 6, rate=1.0, window=len(world))
    served.bases = ["http://127.0.0.1:1", "http://127.0.0.2:1"]
    served.release_all()
    by_url = {served.url(i): i for i in world}
    parsed: list[Item] = []
    for k in range(6):
        body, _ = served.document(k)
        feed = FeedConfig.model_validate({"url": served.feed_url(k)})
        now = datetime.now(UTC)
        for a in parse_feed(body, {"content-type": "application/rss+xml"}, feed, now).articles:
            item = by_url[a.url]
            parsed.append(
                Item(
                    item.n,
                    item.feed,
                    a.title,
                    a.text,
                    item.path,
                    item.published,
                    item.group,
                    item.copy,
                )
            )
    assert len(parsed) == len(world)
    parsed.sort(key=lambda i: i.n)
    report = check({i.n: i.group for i in world}, stories_of(parsed))
    assert (report.split_groups, report.merged_groups) == (0, 0), report.examples()


def test_truth_tells_a_copy_from_another_groups_article(world: list[Item]) -> None:
    truth = Truth()
    a, b = (i for i in world if not i.copy and i.group in (0, 1))
    for item in (a, b):
        truth.add(item.n, item.group, *truth.sign(item.title, item.text))
    sig, keys = truth.sign("Update: " + a.title, a.text)
    assert truth.joins(sig, keys, a.group) and not truth.clashes(sig, keys, a.group)
    assert truth.clashes(sig, keys, b.group) and not truth.joins(sig, keys, b.group)
    truth.add(99_999, b.group, sig, keys)  # a copy of a filed under b: ambiguous
    assert (b.n, 99_999) in set(truth.ambiguous()) or (99_999, b.n) in set(truth.ambiguous())
