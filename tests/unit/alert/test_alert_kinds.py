"""Spike and health rules in the alert stage (memory twins): loading and its errors, health
episodes, digests with immediate delivery, backfilled baselines, two alerters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alert.rules import Rule, load_rule_file
from alert.spikes import SpikeSpec
from alert.stage import AlertStage
from newsmon.bus import HEALTH_TOPIC, TAGGED_TOPIC, Record
from newsmon.config import load_rules
from newsmon.errors import ConfigError
from newsmon.query import compile_query
from newsmon.schema import FeedHealth, TaggedArticle, article_id, encode
from newsmon.store import ArticleStore, MemoryStore

T0 = datetime(2025, 5, 12, 9, tzinfo=UTC)  # a Monday


class Recording:
    kind = "test"
    label = "rec"
    budget = 1.0

    def __init__(self) -> None:
        self.sent: list[Mapping[str, Any]] = []

    def send(self, payload: Mapping[str, Any]) -> None:
        self.sent.append(payload)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# -- loading ---------------------------------------------------------------------------------

RULES = """\
- name: talks
  query: ceasefire
- name: zero-window
  kind: spike
  query: ceasefire
  window: 0
- name: negative-k
  kind: spike
  query: ceasefire
  k: -2
- name: typo
  kind: spike
  query: ceasefire
  treshold: 4
- name: spike-ok
  kind: spike
  query: ceasefire
  window: 30m
  k: 4
  count: articles
- name: operator
  kind: health
  signals: [challenge, silent]
  channels: [{type: log}]
"""


def test_bad_spike_rules_are_named_with_their_field_and_the_others_load(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    rules, errors = load_rule_file(path)
    assert [r.name for r in rules] == ["talks", "spike-ok", "operator"]
    assert errors == [
        f"{path}:3: rules #2: window: a duration must be positive: 0 (rule 'zero-window')",
        f"{path}:7: rules #3: k: Input should be greater than 1 (rule 'negative-k')",
        f"{path}:11: rules #4: treshold: Extra inputs are not permitted (unknown field) "
        "(rule 'typo')",
    ]
    spike = rules[1].spike
    assert spike is not None and spike.window == timedelta(minutes=30) and spike.k == 4
    assert spike.count == "articles" and spike.min_publishers == 3  # defaults fill the rest
    assert rules[2].kind == "health" and rules[2].signals == {"challenge", "silent"}
    with pytest.raises(ConfigError, match=r"rules #2: window: .*\(rule 'zero-window'\)"):
        load_rules(path)  # `alerts add` and the strict loader refuse the file


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: s, kind: spike, query: a, window: 11m}", "divides a week"),
        ("{name: s, query: a, window: 1h}", "window: only rules of kind: spike"),
        ("{name: h, kind: health, query: a}", "query: a health rule"),
        ("{name: h, kind: health, signals: [smoke]}", "unknown signal 'smoke'"),
        ("{name: s, kind: spike}", "query: Field required"),
        ("{name: r, query: a, immediate: true}", "immediate: only with a digest"),
        ("{name: s, kind: spike, query: a, min_publishers: 0}", "min_publishers"),
    ],
)
def test_more_load_errors_name_the_field(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(f"- {entry}\n")
    _, errors = load_rule_file(path)
    assert len(errors) == 1 and message in errors[0] and "(rule '" in errors[0]


def test_the_stage_keeps_running_with_the_rules_that_loaded(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    rules, _ = load_rule_file(path)
    channel = Recording()
    talks = Rule(**{**rules[0].__dict__, "channels": (channel,)})
    stage = AlertStage(MemoryStore(), [talks, *rules[1:]], Clock())
    stage.handle([article("s1", 1, "Wire")])
    assert [p["rule"] for p in channel.sent] == ["talks"]


# -- health ----------------------------------------------------------------------------------


def health(signal: str, state: str, since: datetime, offset: int, feed: str = "f") -> Record:
    event = FeedHealth(
        feed=f"https://{feed}.example/rss",
        name=feed.upper(),
        signal=signal,
        state=state,  # type: ignore[arg-type]
        since=since,
        at=since + timedelta(minutes=offset),
        detail=f"{signal} seen",
        http_status=403 if signal == "challenge" else None,
    )
    return Record(HEALTH_TOPIC, 0, offset, event.feed, encode(event))


def health_rule(channel: Recording, **kw: Any) -> Rule:
    return Rule("operator", "", compile_query("*:*"), (channel,), kind="health", **kw)


def test_one_operator_alert_per_episode_and_redelivery_adds_nothing() -> None:
    channel, store = Recording(), MemoryStore()
    stage = AlertStage(store, [health_rule(channel)], Clock())
    first = health("challenge", "problem", T0, 0)
    stage.handle([first])
    stage.handle([first, health("challenge", "problem", T0, 5)])  # redelivered, repeated
    assert len(channel.sent) == 1
    sent = channel.sent[0]
    assert (sent["kind"], sent["signal"], sent["state"]) == ("health", "challenge", "problem")
    assert sent["title"] == "Feed F serves an anti-bot challenge instead of its feed"
    for key in ("rule", "story_id", "article_id", "title", "url", "published", "matched", "actors"):
        assert key in sent
    stage.handle([health("challenge", "resolved", T0, 60)])
    assert len(channel.sent) == 1  # resolutions are recorded, not sent (resolved: false)
    assert store.get_alert(sent["alert_id"])["resolved"]
    stage.handle([first])  # an old message after the episode closed: still nothing
    later = T0 + timedelta(days=1)
    stage.handle([health("challenge", "problem", later, 0)])  # a new episode
    assert len(channel.sent) == 2 and channel.sent[1]["alert_id"] != sent["alert_id"]


def test_health_rules_filter_signals_and_can_tell_recoveries() -> None:
    channel = Recording()
    rule = health_rule(channel, signals=frozenset({"silent"}), resolved=True)
    stage = AlertStage(MemoryStore(), [rule], Clock())
    stage.handle(
        [health("challenge", "problem", T0, 0, "a"), health("silent", "problem", T0, 1, "b")]
    )
    stage.handle([health("silent", "resolved", T0, 90, "b")])
    assert [(p["signal"], p["state"]) for p in channel.sent] == [
        ("silent", "problem"),
        ("silent", "resolved"),
    ]
    assert channel.sent[1]["title"].startswith("Feed B recovered (silent since")


def test_without_a_health_rule_signals_go_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    stage = AlertStage(MemoryStore(), [], Clock())
    with caplog.at_level("WARNING", logger="alert.channels"):
        stage.handle([health("html", "problem", T0, 0)])
    assert "kind=health feed=https://f.example/rss signal=html state=problem" in caplog.text


def test_a_digest_rule_with_immediate_sends_now_and_lists_it_in_the_digest() -> None:
    channel, clock, store = Recording(), Clock(), MemoryStore()
    rule = health_rule(channel, digest="hourly", immediate=True)
    stage = AlertStage(store, [rule], clock)
    stage.handle([health("gone", "problem", T0, 0)])
    assert [p["kind"] for p in channel.sent] == ["health"]
    clock.now = T0 + timedelta(hours=1, minutes=1)
    stage.tick()
    digest = channel.sent[-1]
    assert digest["kind"] == "digest" and [i["signal"] for i in digest["items"]] == ["gone"]
    queued = Recording()
    only_digest = AlertStage(MemoryStore(), [health_rule(queued, digest="hourly")], Clock())
    only_digest.handle([health("gone", "problem", T0, 0)])
    assert queued.sent == []


# -- spikes ------------------------------------------------------------------------------------


def article(story: str, n: int, site: str, when: datetime = T0) -> Record:
    url = f"https://{site.lower()}.example/{story}/{n}"
    a = TaggedArticle(
        article_id=article_id(url),
        url=url,
        title=f"Ceasefire news {story} {n}",
        text="Talks on a ceasefire went on.",
        source=site,
        fetched=when,
        published=when,
        tagged=when,
        story_id=story,
    )
    return Record(TAGGED_TOPIC, 0, n, a.article_id, encode(a))


def spike_rule(channel: Recording, **spec: Any) -> Rule:
    return Rule(
        "surge",
        "ceasefire",
        compile_query("ceasefire"),
        (channel,),
        kind="spike",
        spike=SpikeSpec(**spec),
    )


def stored_history(store: ArticleStore, days: int, until: datetime) -> None:
    """Two stories an hour from ten sites over ``days`` days, as the indexer stored them."""
    docs = []
    for h in range(days * 24):
        for i in range(2):
            when = until - timedelta(hours=h, minutes=20 * i + 5)
            url = f"https://site{(h + i) % 10}.example/old/{h}-{i}"
            docs.append(
                {
                    "article_id": article_id(url),
                    "url": url,
                    "story_id": f"o{h}-{i}",
                    "title": "Ceasefire talks",
                    "source": f"Site {(h + i) % 10}",
                    "fetched": when.isoformat(),
                    "published": when.isoformat(),
                }
            )
    store.write_articles(docs)


def burst(start: datetime, offset: int = 0) -> list[Record]:
    return [
        article(f"b{p}-{i}", offset + p * 10 + i, f"Pub{p}", start + timedelta(minutes=i))
        for p in range(8)
        for i in range(4)
    ]


def test_a_new_spike_rule_backfills_its_baseline_from_the_store_and_fires_at_once() -> None:
    store, channel = MemoryStore(), Recording()
    stored_history(store, 7, T0)
    stage = AlertStage(store, [spike_rule(channel)], Clock())
    stage.handle(burst(T0))
    assert len(channel.sent) == 1
    spike = channel.sent[0]["spike"]
    assert spike["usual"] == pytest.approx(2.0, abs=0.3) and spike["count"] >= 32
    assert spike["publishers"] >= 8 and spike["threshold"] >= 5
    cold = Recording()
    AlertStage(MemoryStore(), [spike_rule(cold)], Clock()).handle(burst(T0))
    assert cold.sent == []  # no history anywhere: warming up, no alert


def test_two_alerters_on_one_store_send_one_alert_per_spike() -> None:
    store, one, two = MemoryStore(), Recording(), Recording()
    stored_history(store, 7, T0)
    first = AlertStage(store, [spike_rule(one)], Clock())
    second = AlertStage(store, [spike_rule(two)], Clock())
    records = burst(T0)
    first.handle(records[::2])  # each worker gets half of the partitions
    second.handle(records[1::2])
    first.handle([article("late", 99, "Pub9", T0 + timedelta(minutes=20))])
    assert len(one.sent) + len(two.sent) == 1


def test_alerts_backfill_rebuilds_a_spike_baseline_from_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from newsmon.adapters.sqlite_store import SqliteStore
    from newsmon.cli import main

    db = tmp_path / "news.db"
    sqlite = SqliteStore(db)
    stored_history(sqlite, 3, datetime.now(UTC))
    sqlite.close()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    argv = ["alerts", "backfill", "spike-ok", "--rules", str(rules), "--store", f"sqlite://{db}"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("rule 'spike-ok': baseline from ") and "articles per window" in out
    assert main([*argv[:2], "talks", *argv[3:]]) == 2  # not a spike rule
