"""A generated month of news traffic for one query, with injected bursts (for the spike tests).

Background: 25 publishers, stories at a daily and weekly rhythm (about 5 an hour by day, 1 at
night, less at weekends), one in ten copied by one to three other sites within half an hour
(same ``story_id``, as the story clusterer gives syndicated copies). Injected, 8 hours or more
apart, from day 3 on:

* ``true`` bursts: 7 to 10 of the publishers each write 4 to 6 stories of their own in 40
  minutes (at any minute, so many straddle the hour);
* ``single`` bursts: one publisher writes 30 to 50 stories in 40 minutes;
* ``syndicated`` bursts: one wire story copied by 30 to 40 other sites in 30 minutes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from newsmon.bus import TAGGED_TOPIC, Record
from newsmon.schema import TaggedArticle, article_id, encode

T0 = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
DAYS = 30
PUBLISHERS = 25


@dataclass(frozen=True)
class Burst:
    kind: str  # true | single | syndicated
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Item:
    when: datetime
    url: str
    title: str
    source: str
    story: str | None = None  # the story's first article URL (copies), else its own


def _poisson(rng: random.Random, lam: float) -> int:
    n, p, limit = 0, 1.0, pow(2.718281828459045, -lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return n
        n += 1


def _site(p: int) -> tuple[str, str]:
    return f"https://www.pub{p}.example", f"Pub {p}"


def _background(rng: random.Random, items: list[Item]) -> None:
    n = 0
    for hour in range(DAYS * 24):
        start = T0 + timedelta(hours=hour)
        day_rate = 5.0 if 7 <= start.hour < 21 else 1.0
        rate = day_rate * (0.6 if start.weekday() >= 5 else 1.0)
        for _ in range(_poisson(rng, rate)):
            n += 1
            when = start + timedelta(seconds=rng.uniform(0, 3600))
            site, name = _site(rng.randrange(PUBLISHERS))
            url = f"{site}/news/{n}"
            items.append(Item(when, url, f"Ceasefire talks: update {n}", name))
            if rng.random() < 0.1:
                others = rng.sample(range(PUBLISHERS), rng.randint(1, 3))
                for c, p in enumerate(others):
                    copy_site, copy_name = _site(p)
                    later = when + timedelta(minutes=rng.uniform(5, 30))
                    items.append(
                        Item(
                            later,
                            f"{copy_site}/wire/{n}-{c}",
                            f"Ceasefire talks: update {n}",
                            copy_name,
                            url,
                        )
                    )


def _bursts(rng: random.Random) -> list[Burst]:
    kinds = ["true"] * 20 + ["single"] * 8 + ["syndicated"] * 8
    rng.shuffle(kinds)
    starts: list[datetime] = []
    while len(starts) < len(kinds):
        when = T0 + timedelta(days=3, minutes=rng.uniform(0, (DAYS - 3.5) * 1440))
        if all(abs((when - s).total_seconds()) >= 8 * 3600 for s in starts):
            starts.append(when)
    starts.sort()
    return [Burst(k, s, s + timedelta(minutes=40)) for k, s in zip(kinds, starts, strict=True)]


def _inject(rng: random.Random, burst: Burst, b: int, items: list[Item]) -> None:
    span = (burst.end - burst.start).total_seconds()

    def at() -> datetime:
        return burst.start + timedelta(seconds=rng.uniform(0, span))

    if burst.kind == "true":
        for p in rng.sample(range(PUBLISHERS), rng.randint(7, 10)):
            site, name = _site(p)
            for i in range(rng.randint(4, 6)):
                items.append(
                    Item(
                        at(),
                        f"{site}/burst/{b}-{i}",
                        f"Ceasefire breakthrough {b}: report {p}-{i}",
                        name,
                    )
                )
    elif burst.kind == "single":
        site, name = _site(rng.randrange(PUBLISHERS))
        for i in range(rng.randint(30, 50)):
            items.append(Item(at(), f"{site}/live/{b}-{i}", f"Ceasefire live {b}: post {i}", name))
    else:
        origin = f"https://wire.example/story/{b}"
        items.append(Item(burst.start, origin, f"Ceasefire wire story {b}", "Wire"))
        for j in range(rng.randint(30, 40)):
            later = burst.start + timedelta(minutes=rng.uniform(1, 30))
            items.append(
                Item(
                    later,
                    f"https://outlet{j}.example/wire/{b}",
                    f"Ceasefire wire story {b}",
                    f"Outlet {j}",
                    origin,
                )
            )


def month(seed: int = 7) -> tuple[list[Record], list[Burst]]:
    """The month's tagged articles as bus records in fetch order, and the injected bursts."""
    rng = random.Random(seed)
    items: list[Item] = []
    _background(rng, items)
    bursts = _bursts(rng)
    for b, burst in enumerate(bursts):
        _inject(rng, burst, b, items)
    items.sort(key=lambda i: (i.when, i.url))
    records = []
    for offset, item in enumerate(items):
        aid = article_id(item.url)
        article = TaggedArticle(
            article_id=aid,
            url=item.url,
            title=item.title,
            source=item.source,
            text=f"{item.title}. Negotiators discussed a ceasefire on Monday.",
            fetched=item.when,
            published=item.when,
            tagged=item.when,
            story_id=article_id(item.story) if item.story else aid,
        )
        records.append(Record(TAGGED_TOPIC, 0, offset, aid, encode(article)))
    return records, bursts
