"""A benchmark corpus: N real-shaped articles recombined from the dev set, a share of them
syndicated copies of others under another outlet's URL in another feed.

Pure: a seed in, the same corpus out. Each *unique* article keeps most sentences of one dev
article in order, drops some and splices in a few from another, so lengths and vocabulary stay
those of real news while no two texts are equal. A *syndicated copy* carries an original's title
and text under a different URL, in a different feed: an exact copy, or (one in three) the same
words with different white space and line breaks, as wire copy reformatted by a CMS looks
(identical content to the tag cache, which normalises white space).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEV_SET = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "dev" / "articles.jsonl"
T0 = datetime(2025, 5, 12, 6, 0, tzinfo=UTC)
_SENTENCE = re.compile(r"(?<=[.!?\u201d\"])\s+(?=[A-Z\u201c\"])")
_PREFIXES = ("", "Update: ", "Analysis: ", "Live: ", "Explainer: ", "Opinion: ", "Q&A: ")


@dataclass(frozen=True)
class Item:
    """One feed item: ``original`` is the index of the item it syndicates (None: unique)."""

    index: int
    feed: int
    title: str
    text: str
    link: str
    source: str
    published: datetime
    original: int | None = None


def load_dev(path: Path = DEV_SET) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [r for r in rows if r.get("title") and r.get("text")]


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(" ".join(text.split())) if s]


def build(n: int, dup_share: float, feeds: int, seed: int = 7) -> list[Item]:
    """``n`` items over ``feeds`` feeds, ``round(n * dup_share)`` of them syndicated copies."""
    if feeds < 2:
        raise ValueError("need at least two feeds (copies go to another outlet's feed)")
    rng = random.Random(seed)
    rows = load_dev()
    split = [sentences(r["text"]) for r in rows]
    copies = round(n * dup_share)
    items: list[Item] = []
    seen: set[tuple[str, str]] = set()
    for i in range(n - copies):
        base = i % len(rows)
        like = [s for s in split if (len(s) <= 3) == (len(split[base]) <= 3)]
        while True:  # recombinations rarely collide; never let two "unique" texts be equal
            title, text = _recombine(rng, rows[base]["title"], split[base], like, i // len(rows))
            if (title, text) not in seen:
                break
        seen.add((title, text))
        items.append(_item(i, i % feeds, title, text, rows[base].get("source", "")))
    for i in range(n - copies, n):
        orig = items[rng.randrange(n - copies)]
        feed = rng.choice([f for f in range(feeds) if f != orig.feed])
        text = orig.text if rng.random() < 2 / 3 else _reflow(rng, orig.text)
        items.append(_item(i, feed, orig.title, text, orig.source, original=orig.index))
    order = list(range(n))
    rng.shuffle(order)  # copies arrive among the originals, as on the wire
    new_pos = {k: pos for pos, k in enumerate(order)}
    return [_renumber(items[k], pos, new_pos) for pos, k in enumerate(order)]


def _recombine(
    rng: random.Random, title: str, own: list[str], like: list[list[str]], round_: int
) -> tuple[str, str]:
    """Most of ``own`` in order, plus sentences of another text of the same kind (a summary
    takes one sentence from another summary; a full text about a sixth of its length)."""
    kept = [s for s in own if len(own) <= 3 or rng.random() > 0.2] or own[:3]
    other = like[rng.randrange(len(like))]
    for s in rng.sample(other, k=min(len(other), max(1, len(own) // 6))):
        kept.insert(rng.randrange(len(kept) + 1), s)
    paragraphs, para = [], []
    for s in kept:
        para.append(s)
        if len(para) >= rng.randint(2, 4):
            paragraphs.append(" ".join(para))
            para = []
    paragraphs += [" ".join(para)] if para else []
    prefix = _PREFIXES[round_ % len(_PREFIXES)] if round_ else ""
    return prefix + title, "\n\n".join(paragraphs)


def _reflow(rng: random.Random, text: str) -> str:
    """Same words, other white space: paragraphs joined by single breaks, doubled spaces."""
    words = text.replace("\n\n", " \n ").split(" ")
    return " ".join(w + (" " if rng.random() < 0.05 else "") for w in words)


def _item(
    i: int, feed: int, title: str, text: str, source: str, original: int | None = None
) -> Item:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
    return Item(i, feed, title, text, f"https://www.outlet{feed}.example/news/{i}/{slug}",
                f"Outlet {feed} ({source})" if source else f"Outlet {feed}",
                T0 + timedelta(seconds=30 * i), original)


def _renumber(item: Item, pos: int, new_pos: dict[int, int]) -> Item:
    original = None if item.original is None else new_pos[item.original]
    return Item(pos, item.feed, item.title, item.text, item.link, item.source,
                T0 + timedelta(seconds=30 * pos), original)
