"""Story clustering: syndicated variants of real articles join the original's story, different
articles never do; replay, window and restart keep ids stable."""

from __future__ import annotations

import html
import itertools
import json
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import numpy as np
import pytest

from newsmon.schema import RawArticle
from process.story import (
    SIGNATURE_VERSION,
    ClusterConfig,
    StoryClusterer,
    event_time,
    same_story,
    signature,
    story_band_keys,
)

from .conftest import DEV, ROOT

T0 = datetime(2025, 5, 11, 12, tzinfo=UTC)
CFG = ClusterConfig()
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"“A-Z])")

Variant = Callable[[str, str, random.Random], tuple[str, str]]


def dev_articles() -> list[dict[str, str]]:
    return [json.loads(line) for line in (DEV / "articles.jsonl").open(encoding="utf-8")]


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for part in _SENTENCE.split(text):
        if out and len(out[-1].split()) < 6:  # "the U.S." is not a sentence end
            out[-1] += " " + part
        else:
            out.append(part)
    return out


def rewire(title: str, text: str, rnd: random.Random) -> tuple[str, str]:
    """Another headline, a wire dateline and a credits footer."""
    footer = " (Reporting by Jane Doe; Editing by John Roe)"
    return f"Officials react as {title.lower()}", f"LONDON (Reuters) - {text}{footer}"


def first_paragraphs(title: str, text: str, rnd: random.Random) -> tuple[str, str]:
    return f"{title} | Reuters", " ".join(text.split()[:120])


def first_300_words(title: str, text: str, rnd: random.Random) -> tuple[str, str]:
    return title, " ".join(text.split()[:300]) + " Read more on our website."


def summary(title: str, text: str, rnd: random.Random) -> tuple[str, str]:
    """The first sentences, at least 15 words: what an RSS description carries."""
    lead: list[str] = []
    for sentence in sentences(text):
        lead.append(sentence)
        if len(" ".join(lead).split()) >= 15:
            break
    return title, " ".join(lead)


def small_edits(title: str, text: str, rnd: random.Random) -> tuple[str, str]:
    words = text.split()
    for i in rnd.sample(range(len(words)), max(1, len(words) // 25)):
        words[i] = rnd.choice(["the", "said", "new", "officials"])
    return title, " ".join(words)


def cut_sentence_add_promo(title: str, text: str, rnd: random.Random) -> tuple[str, str]:
    parts = sentences(text)
    if len(parts) >= 4:
        del parts[len(parts) // 2]
    return title, " ".join(parts) + " Sign up for our newsletter to get the latest news."


def new_headline(title: str, text: str, rnd: random.Random) -> tuple[str, str]:
    return "Breaking: " + " ".join(reversed(title.split())), text


VARIANTS: list[Variant] = [
    rewire, first_paragraphs, first_300_words, summary, small_edits, cut_sentence_add_promo,
    new_headline,
]


def article(aid: str, title: str, text: str, when: datetime = T0) -> RawArticle:
    return RawArticle(
        article_id=aid, url=f"https://ex.com/{aid}", title=title, text=text, fetched=when
    )


def feed_items() -> list[tuple[str, str]]:
    """Real RSS items of one site and day: different stories, often on the same subject."""
    parsed = feedparser.parse((ROOT / "tests/fixtures/feeds/guardian_us_2018.rss").read_bytes())
    return [
        (e.get("title", ""), " ".join(re.sub("<[^>]+>", " ", html.unescape(e.summary)).split()))
        for e in parsed.entries
    ]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.__name__)
def test_syndicated_variants_of_real_articles_join_the_original_story(variant: Variant) -> None:
    rnd = random.Random(0)
    clusterer = StoryClusterer()
    originals = dev_articles()
    ids = clusterer.assign_batch([article(a["id"], a["title"], a["text"]) for a in originals])
    assert ids == [a["id"] for a in originals]  # no two dev articles share a story
    copies = [
        article(f"copy-{a['id']}", *variant(a["title"], a["text"], rnd), T0 + timedelta(hours=5))
        for a in originals
    ]
    assert clusterer.assign_batch(copies) == ids


def test_different_real_articles_never_match() -> None:
    items = [(a["title"], a["text"]) for a in dev_articles()] + feed_items()
    sigs = [signature(title, text) for title, text in items]
    matched = [
        (items[i][0], items[j][0])
        for i, j in itertools.combinations(range(len(sigs)), 2)
        if same_story(sigs[i], sigs[j], CFG)
    ]
    assert matched == []


def test_copies_within_one_batch_share_the_first_articles_id() -> None:
    text = "The ministers met in Geneva on Friday and agreed to meet again next month. " * 3
    ids = StoryClusterer().assign_batch(
        [article("a1", "Talks in Geneva", text), article("a2", "Geneva talks end", text),
         article("a3", "Markets rally", "Stocks rose on Friday after a week of losses.")]
    )
    assert ids == ["a1", "a1", "a3"]


def test_earliest_matching_article_gives_the_story() -> None:
    text = " ".join(dev_articles()[0]["text"].split()[:200])
    clusterer = StoryClusterer()
    late = clusterer.assign("late", "t", text, T0 + timedelta(hours=2))
    early = clusterer.assign("early", "t", text, T0)  # arrives later, happened earlier
    assert (late, early) == ("late", "late")
    assert clusterer.assign("third", "t", text, T0 + timedelta(hours=3)) == "late"


def test_short_titles_alone_never_cluster() -> None:
    clusterer = StoryClusterer()
    assert clusterer.assign("a", "Live updates", "", T0) == "a"
    assert clusterer.assign("b", "Live updates", "", T0) == "b"
    assert len(clusterer) == 0  # nothing that short is indexed: no giant bucket of them


def test_replay_gives_the_same_ids_and_a_known_article_keeps_its_story() -> None:
    originals = dev_articles()[:10]
    stream = [article(a["id"], a["title"], a["text"]) for a in originals]
    stream += [article("c" + a["id"], *rewire(a["title"], a["text"], random.Random(0)))
               for a in originals]
    first, second = StoryClusterer(), StoryClusterer()
    assert first.assign_batch(stream) == second.assign_batch(stream)
    copy_id, story = "c" + originals[0]["id"], originals[0]["id"]
    assert first.assign(copy_id, "other", "entirely new text", T0) == story


def test_articles_outside_the_window_start_a_new_story() -> None:
    a = dev_articles()[0]
    clusterer = StoryClusterer(ClusterConfig(window=timedelta(hours=72)))
    assert clusterer.assign("old", a["title"], a["text"], T0) == "old"
    assert clusterer.assign("new", a["title"], a["text"], T0 + timedelta(hours=73)) == "new"


def test_the_store_forgets_bands_past_the_window_and_records_past_keep() -> None:
    cfg = ClusterConfig(window=timedelta(hours=1), keep_assignments=timedelta(days=2),
                        prune_every=timedelta(0))
    a, b = dev_articles()[:2]
    clusterer = StoryClusterer(cfg)
    clusterer.assign("a", a["title"], a["text"], T0)
    keys = story_band_keys(signature(a["title"], a["text"]))
    assert set(clusterer.store.band_owners(keys).values()) == {"a"}
    clusterer.assign("b", b["title"], b["text"], T0 + timedelta(hours=2))
    assert clusterer.store.band_owners(keys) == {}  # past the window: no longer a candidate
    assert "a" in clusterer.store.records(["a"])  # its assignment is kept
    clusterer.assign("c", b["title"] + " x", b["text"], T0 + timedelta(days=3))
    assert clusterer.store.records(["a"]) == {}  # past keep_assignments


def test_event_time_is_published_but_never_after_fetch() -> None:
    raw = article("a", "t", "x").model_copy(update={"published": T0 + timedelta(days=3)})
    assert event_time(raw) == T0
    earlier = raw.model_copy(update={"published": T0 - timedelta(hours=1)})
    assert event_time(earlier) == T0 - timedelta(hours=1)


def test_state_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "newsmon.db"
    a, b = dev_articles()[:2]
    clusterer = StoryClusterer.open(path)
    assert clusterer.assign_batch([article("a", a["title"], a["text"])]) == ["a"]
    clusterer.close()

    reopened = StoryClusterer.open(path)
    later = T0 + timedelta(hours=1)
    copy = article("copy", *rewire(a["title"], a["text"], random.Random(0)), later)
    assert reopened.assign_batch([copy, article("b", b["title"], b["text"])]) == ["a", "b"]
    reopened.close()

    again = StoryClusterer.open(path)  # redelivery after restart: the stored assignment wins
    assert again.assign_batch([article("copy", "changed", "changed text")]) == ["a"]
    again.close()


def test_band_keys_carry_the_signature_version() -> None:
    a = dev_articles()[0]
    clusterer = StoryClusterer()
    clusterer.assign("a", a["title"], a["text"], T0)
    sig = signature(a["title"], a["text"])
    stored = set(clusterer.store.band_owners(story_band_keys(sig)))
    assert stored and all(k.startswith(f"v{SIGNATURE_VERSION}-") for k in stored)


# ------------------------------------------------------------- across languages, by meaning

EN = ("Zelensky and Putin delegations meet in Istanbul",
      "Ukrainian and Russian delegations met in Istanbul on Friday for the first direct talks.")
RU = ("Делегации России и Украины встретились в Стамбуле",
      "Российская и украинская делегации провели в пятницу в Стамбуле первые прямые переговоры.")
EN2 = ("Delegations of Ukraine and Russia hold talks in Istanbul",
       "Negotiators from Kyiv and Moscow sat down in Istanbul for a second round on Monday.")


def _vec(*xs: float) -> np.ndarray:
    v = np.zeros(384, dtype=np.float32)
    v[: len(xs)] = xs
    return v


def _assign(c: StoryClusterer, aid: str, item: tuple[str, str], when: datetime,
            vec: np.ndarray | None, lang: str, ents: tuple[str, ...] = ("Istanbul", "Russia",
                                                                        "Ukraine")) -> str:
    """One article through both steps, as the process stage runs them."""
    c.assign(aid, item[0], item[1], when, vec, lang)
    return c.link_batch([aid], [ents])[0]


def test_the_same_event_in_another_language_joins_by_meaning() -> None:
    c = StoryClusterer()
    first = _assign(c, "a" * 32, EN, T0, _vec(1, 0.1), "en")
    assert _assign(c, "b" * 32, RU, T0 + timedelta(hours=3), _vec(1, 0.12), "ru") == first
    # Unlike in meaning: its own story.
    other = ("Рубль укрепился", "Курс рубля к доллару вырос на торгах Московской биржи в пятницу.")
    assert _assign(c, "c" * 32, other, T0, _vec(0, 1), "ru") == "c" * 32


def test_meaning_never_joins_articles_of_one_language() -> None:
    c = StoryClusterer()
    _assign(c, "a" * 32, EN, T0, _vec(1, 0.1), "en")
    # Same language, same subject, different wording: another story (round two, not round one).
    assert _assign(c, "d" * 32, EN2, T0 + timedelta(hours=2), _vec(1, 0.1), "en") == "d" * 32


def test_meaning_links_only_within_the_semantic_window() -> None:
    c = StoryClusterer(ClusterConfig(semantic_window=timedelta(hours=48)))
    _assign(c, "a" * 32, EN, T0, _vec(1, 0.1), "en")
    late = T0 + timedelta(hours=60)
    assert _assign(c, "b" * 32, RU, late, _vec(1, 0.1), "ru") == "b" * 32


def test_a_weaker_likeness_needs_shared_names() -> None:
    near = _vec(1, 0.9)  # cosine 0.81 with (1, 0.1): below the bar of 0.9 alone
    c = StoryClusterer()
    _assign(c, "a" * 32, EN, T0, _vec(1, 0.1), "en", ("Istanbul", "Russia", "Ukraine"))
    assert _assign(c, "b" * 32, RU, T0, near, "ru", ("Gaza", "Hamas")) == "b" * 32
    c = StoryClusterer()
    first = _assign(c, "a" * 32, EN, T0, _vec(1, 0.1), "en", ("Istanbul", "Russia", "Ukraine"))
    assert _assign(c, "b" * 32, RU, T0, near, "ru", ("Istanbul", "Russia", "Ukraine")) == first


def test_a_redelivered_founder_keeps_its_story() -> None:
    c = StoryClusterer()
    en = _assign(c, "a" * 32, EN, T0, _vec(1, 0.1), "en", ("Kremlin",))
    ru = _assign(c, "b" * 32, RU, T0, _vec(0, 1), "ru", ("Kremlin",))
    assert ru != en
    # Redelivered with another vector: ids are assigned once, never moved afterwards.
    c.assign("b" * 32, RU[0], RU[1], T0, _vec(1, 0.1), "ru")
    assert c.link_batch(["b" * 32], [("Kremlin",)]) == ["b" * 32]


def test_embeddings_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "newsmon.db"
    c = StoryClusterer.open(path)
    first = _assign(c, "a" * 32, EN, T0, _vec(1, 0.1), "en")
    c.close()
    again = StoryClusterer.open(path)
    assert _assign(again, "b" * 32, RU, T0 + timedelta(hours=1), _vec(1, 0.1), "ru") == first
    again.close()
