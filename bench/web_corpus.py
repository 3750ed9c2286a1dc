"""A store-sized corpus for the analyst page benchmark: N tagged search documents, a year long.

Pure: a seed in, the same documents out. Every document is built from one of the 40 real
tagged articles of ``tests/fixtures/parity_docs.jsonl`` the way ``bench/corpus.py`` builds feed
items: most of its sentences in order, a few spliced in from another article, a title variant.
On top, what a year of monitoring looks like to the pages:

* stories: articles come in stories (``story_id``) of 1 to ~60 articles, sizes drawn from a
  heavy tail (most stories are one article, a few run for days), the articles of a story
  spread over hours to days after its first;
* outlets: ~300 sources with Zipf-like frequencies, each with its own feed URL; a share of the
  articles are RSS summaries (a few sentences), the rest full texts;
* actors: the template's principal actors, plus one or two from a long tail of ~1,500
  generated names (people, organisations), so the actor facet has a realistic tail; topics
  and places as tagged in the template;
* time: ``published`` spread over the year before :data:`END`, denser in recent months.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.corpus import sentences

PARITY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "parity_docs.jsonl"
END = datetime(2026, 5, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
_FIRST = "Anna Boris Carla Dmytro Elena Farid Greta Hanna Ivan Julia Karl Lena Marek Oleh".split()
_LAST = "Kovalenko Smirnov Novak Schmidt Dubois Rossi Nowak Ivanova Bondar Petrov Meyer".split()
_ORGS = "Council Agency Ministry Fund Commission Mission Forum Institute Union Alliance".split()
_LANGS = ("en", "en", "en", "en", "ru", "uk", "de", "fr")
_PREFIXES = ("", "", "", "Update: ", "Analysis: ", "Live: ", "Explainer: ", "Opinion: ")


def load_templates(path: Path = PARITY) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def long_tail(rng: random.Random, n: int = 1500) -> list[str]:
    """Generated actor names: people and organisations."""
    names: set[str] = set()
    while len(names) < n:
        if rng.random() < 0.7:
            names.add(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}")
            names.add(f"{rng.choice(_FIRST)} {rng.choice(_FIRST)[0]}. {rng.choice(_LAST)}")
        else:
            names.add(f"{rng.choice(_LAST)} {rng.choice(_ORGS)} {rng.randint(1, 99)}")
    return sorted(names)[:n]


def zipf_index(rng: random.Random, n: int, s: float = 1.1) -> int:
    """An index in [0, n), small ones far more likely (a power of a uniform draw)."""
    return min(int(n * rng.random() ** (1 + s)), n - 1)


def documents(n: int, seed: int = 11) -> Iterator[dict[str, Any]]:
    """``n`` search documents (as the index stage writes them), in story order."""
    rng = random.Random(seed)
    templates = load_templates()
    split = [sentences(t["text"]) for t in templates]
    tail = long_tail(rng)
    made, story = 0, 0
    while made < n:
        size = min(n - made, 60, int(rng.paretovariate(1.3)))
        start = END - YEAR * rng.random() ** 0.7
        base = rng.randrange(len(templates))
        story_id = hashlib.sha1(f"{seed}:{story}".encode()).hexdigest()[:24]
        extra = [tail[zipf_index(rng, len(tail))] for _ in range(rng.randint(0, 2))]
        for k in range(size):
            when = start + timedelta(hours=rng.random() * (6 + 12 * k))
            yield _doc(rng, made, story_id, min(when, END), templates[base], split, extra)
            made += 1
        story += 1


def _doc(
    rng: random.Random,
    i: int,
    story_id: str,
    when: datetime,
    template: dict[str, Any],
    split: list[list[str]],
    extra: list[str],
) -> dict[str, Any]:
    outlet = zipf_index(rng, 300)
    own = sentences(template["text"])
    summary = rng.random() < 0.6
    kept = own[: rng.randint(2, 4)] if summary else [s for s in own if rng.random() > 0.25]
    other = split[rng.randrange(len(split))]
    for s in rng.sample(other, k=min(len(other), 1 if summary else 3)):
        kept.insert(rng.randrange(len(kept) + 1), s)
    if not summary:
        kept = kept[: rng.randint(8, 20)]
    url = f"https://www.outlet{outlet}.example/news/{i}"
    actors = [a for a in template.get("actor", []) if rng.random() < 0.8][:6] + extra
    lang = template.get("lang", "en") if rng.random() < 0.8 else rng.choice(_LANGS)
    stamp = when.isoformat()
    return {
        "article_id": hashlib.md5(url.encode()).hexdigest(),
        "url": url,
        "title": rng.choice(_PREFIXES) + template["title"],
        "text": " ".join(kept),
        "source": f"Outlet {outlet}",
        "feed": f"https://www.outlet{outlet}.example/rss",
        "lang": lang,
        "tags": [],
        "story_id": story_id,
        "published": stamp,
        "fetched": stamp,
        "tagged": stamp,
        "actor": list(dict.fromkeys(actors)),
        "topic": list(template.get("topic", [])),
        "place": [p for p in template.get("place", []) if rng.random() < 0.7],
        "actors": [{"name": a, "type": "person", "salience": 0.7} for a in actors],
        "topics": template.get("topics", []),
    }
