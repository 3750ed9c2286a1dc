"""A month of generated traffic replayed through the alert stage (memory store, fast).

Spike precision and recall on the injected bursts must be ≥ 0.95, with one alert per spike and
none for bursts from a single publisher or from one syndicated wire story, counting stories
or articles; a restart in the middle (the last batch redelivered to a new stage on the same
store) must change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest

from alert.rules import Rule
from alert.spikes import SpikeSpec
from alert.stage import AlertStage
from newsmon.bus import Record
from newsmon.query import compile_query
from newsmon.schema import TaggedArticle, decode
from newsmon.store import MemoryStore
from tests.unit.alert.spike_traffic import Burst, month

BATCH = 64


class Recording:
    kind = "test"
    label = "rec"
    budget = 1.0

    def __init__(self) -> None:
        self.sent: list[Mapping[str, Any]] = []

    def send(self, payload: Mapping[str, Any]) -> None:
        self.sent.append(payload)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.min.replace(tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def spike_rule(channel: Recording, unit: str) -> Rule:
    spec = SpikeSpec(count=unit)  # type: ignore[arg-type]
    return Rule(
        "ceasefire-spike",
        "ceasefire",
        compile_query("ceasefire"),
        (channel,),
        kind="spike",
        spike=spec,
    )


@cache
def traffic() -> tuple[list[Record], list[Burst]]:
    return month()


def run(
    records: Sequence[Record],
    stage: AlertStage,
    clock: Clock,
    start: int = 0,
    stop: int | None = None,
) -> None:
    end = len(records) if stop is None else stop
    for i in range(start, end, BATCH):
        batch = records[i : min(i + BATCH, end)]
        clock.now = decode(TaggedArticle, batch[-1].value).fetched
        stage.handle(batch)


def windows(sent: Sequence[Mapping[str, Any]]) -> list[tuple[datetime, datetime]]:
    return [
        (
            datetime.fromisoformat(p["spike"]["window_start"]),
            datetime.fromisoformat(p["spike"]["window_end"]),
        )
        for p in sent
        if p.get("kind") == "spike"
    ]


def score(sent: Sequence[Mapping[str, Any]], bursts: Sequence[Burst]) -> dict[str, Any]:
    alerts = windows(sent)
    hits: dict[int, int] = {}
    wrong: list[tuple[str, datetime]] = []
    for start, end in alerts:
        owners = [i for i, b in enumerate(bursts) if start < b.end and b.start < end]
        if len(owners) == 1 and bursts[owners[0]].kind == "true":
            hits[owners[0]] = hits.get(owners[0], 0) + 1
        else:
            kind = bursts[owners[0]].kind if owners else "background"
            wrong.append((kind, start))
    true = [i for i, b in enumerate(bursts) if b.kind == "true"]
    precise = sum(1 for n in hits.values() if n >= 1)  # a second alert for one spike is wrong
    return {
        "alerts": len(alerts),
        "precision": precise / len(alerts) if alerts else 0.0,
        "recall": sum(1 for i in true if i in hits) / len(true),
        "repeated": sum(n - 1 for n in hits.values()),
        "wrong": wrong,
    }


@pytest.mark.parametrize("unit", ["stories", "articles"])
def test_a_month_of_traffic_finds_the_injected_spikes_and_only_them(unit: str) -> None:
    records, bursts = traffic()
    channel, clock = Recording(), Clock()
    stage = AlertStage(MemoryStore(), [spike_rule(channel, unit)], clock)
    run(records, stage, clock)
    result = score(channel.sent, bursts)
    assert result["recall"] >= 0.95, result
    assert result["precision"] >= 0.95, result
    assert result["repeated"] == 0, result
    assert not [w for w in result["wrong"] if w[0] in ("single", "syndicated")], result
    first = next(p for p in channel.sent if p.get("kind") == "spike")
    for key in ("rule", "story_id", "article_id", "title", "url", "published", "matched", "actors"):
        assert key in first  # the webhook contract holds for spike alerts too
    assert first["spike"]["publishers"] >= 3 and first["stories"]
    assert "<em>" in first["stories"][0]["fragments"]["title"]


def test_a_restart_in_the_middle_changes_nothing() -> None:
    records, _ = traffic()
    whole, clock = Recording(), Clock()
    run(records, AlertStage(MemoryStore(), [spike_rule(whole, "stories")], clock), clock)

    store, split, clock = MemoryStore(), Recording(), Clock()
    half = (len(records) // 2 // BATCH) * BATCH
    run(records, AlertStage(store, [spike_rule(split, "stories")], clock), clock, 0, half)
    # the new worker gets the last batch again (it was not committed) and goes on
    later = AlertStage(store, [spike_rule(split, "stories")], clock)
    run(records, later, clock, half - BATCH)
    assert windows(split.sent) == windows(whole.sent)
    assert [p["alert_id"] for p in split.sent] == [p["alert_id"] for p in whole.sent]
    assert [p["spike"]["count"] for p in split.sent] == [p["spike"]["count"] for p in whole.sent]
