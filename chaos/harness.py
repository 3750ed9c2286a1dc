"""The delivery proof: the four services on real Kafka + Elasticsearch, kill -9 at random.

A local feed server releases ``articles`` generated articles over several feeds while the
harness kills a random stage with SIGKILL at random moments (``kills`` times) and restarts it
after a random pause; a service that exits on its own is restarted too (counted as a crash),
as systemd would. Then every article is released, the pipeline settles (every article in
Elasticsearch, no consumer lag), the services get SIGTERM, and the harness checks:

* every article in Elasticsearch exactly once (``duplicates``, ``losses``);
* every (rule, story) with a matching article in Elasticsearch alerted exactly once at the
  webhook receiver (``double_alerts`` counts deliveries beyond the first, ``alert_losses`` the
  pairs never alerted, ``unexpected_alerts`` pairs no stored article explains);
* the dead-letter topic holds exactly the poison records the harness injected.

The last line printed is one JSON object of figures.
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.stack import STAGES, Stack
from chaos.world import FeedWorld, Receiver, generate, serve

log = logging.getLogger("chaos")

RULES = (
    ("peace-watch", "ceasefire OR talks"),
    ("putin-watch", 'actor:"Vladimir Putin"'),
)


@dataclass
class ChaosConfig:
    bus: str
    store: str
    articles: int = 3000
    kills: int = 20
    feeds: int = 6
    gap: tuple[float, float] = (4.0, 15.0)  # seconds between kills
    down: tuple[float, float] = (0.2, 3.0)  # seconds a killed stage stays down
    release_seconds: float | None = None  # default: about the kill phase
    poison: int = 3
    settle_timeout: float = 1200.0
    seed: int | None = None
    workdir: Path | None = None
    keep: bool = False  # keep topics and indices afterwards
    stages: tuple[str, ...] = STAGES
    #: called with the running stack after the kill phase, while articles are released
    #: (the outage tests stop Elasticsearch or Kafka here)
    disrupt: Callable[[Stack], None] | None = None


@dataclass
class ChaosResult:
    runs: int = 0
    kills: int = 0
    crashes: int = 0
    articles: int = 0
    stored: int = 0
    duplicates: int = 0
    losses: int = 0
    alerts_expected: int = 0
    alerts_delivered: int = 0
    double_alerts: int = 0
    alert_losses: int = 0
    unexpected_alerts: int = 0
    dead_letters: int = 0
    unexpected_dead_letters: int = 0
    missing_dead_letters: int = 0
    clean_exits: bool = False
    settled: bool = False
    wall_seconds: float = 0.0
    kills_by_stage: dict[str, int] = field(default_factory=dict)
    seed: int = 0
    namespace: str = ""

    @property
    def ok(self) -> bool:
        return self.settled and not (
            self.duplicates or self.losses or self.double_alerts or self.alert_losses
            or self.unexpected_alerts or self.unexpected_dead_letters or self.missing_dead_letters
        )

    def line(self) -> str:
        return json.dumps({**self.__dict__, "ok": self.ok}, sort_keys=False)


def run(cfg: ChaosConfig) -> ChaosResult:
    seed = cfg.seed if cfg.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    ns = f"chaos{uuid.uuid4().hex[:8]}-"
    result = ChaosResult(articles=cfg.articles, seed=seed, namespace=ns)
    workdir = cfg.workdir or Path(tempfile.mkdtemp(prefix="newsmon-chaos-"))
    started = time.monotonic()
    items = generate(cfg.articles, cfg.feeds, seed=seed)
    mean_gap = sum(cfg.gap) / 2
    release = cfg.release_seconds or max(20.0, 0.7 * cfg.kills * mean_gap)
    world, receiver = FeedWorld(items, cfg.feeds, cfg.articles / release), Receiver()
    with serve(world.handle) as feed_base, serve(receiver.handle) as hook_base:
        world.base = feed_base
        env = _environment(cfg, ns, workdir, feed_base, hook_base)
        poison = _inject_poison(cfg, ns)
        stack = Stack(env, workdir / "logs")
        log.info("chaos ns=%s seed=%d articles=%d kills=%d release=%.0fs workdir=%s",
                 ns, seed, cfg.articles, cfg.kills, release, workdir)
        try:
            world.start = time.monotonic()
            stack.start(*STAGES)
            _kill_phase(cfg, stack, rng, result)
            if cfg.disrupt is not None:
                cfg.disrupt(stack)
            world.release_all()
            result.settled = _settle(cfg, stack, ns, result)
        finally:
            codes = stack.stop()
            result.clean_exits = all(c == 0 for c in codes.values())
            if not result.clean_exits:
                log.warning("unclean exits %s", codes)
            result.runs = stack.starts
        _verify(cfg, ns, world, receiver, poison, result)
        if not result.ok:
            log.warning("logs:\n%s", stack.logs(4000))
    if not cfg.keep:
        _cleanup(cfg, ns)
    result.wall_seconds = round(time.monotonic() - started, 1)
    return result


def _environment(cfg: ChaosConfig, ns: str, workdir: Path, feeds: str, hook: str) -> dict[str, str]:
    import os

    lines = [
        f"- url: {feeds}/feed/{k}.xml\n  name: Chaos Wire {k}\n  interval: 1\n  full_text: false\n"
        for k in range(cfg.feeds)
    ]
    (workdir / "feeds.yaml").write_text("".join(lines))
    rules = "".join(
        f"- name: {name}\n  query: '{query}'\n  channels:\n"
        f'    - {{type: webhook, url: "{hook}/hook", attempts: 1, timeout: 3}}\n'
        for name, query in RULES
    )
    (workdir / "rules.yaml").write_text(rules)
    return {
        **os.environ,
        "NEWSMON_BUS": cfg.bus,
        "NEWSMON_STORE": cfg.store,
        "NEWSMON_NAMESPACE": ns,
        "NEWSMON_FEEDS": str(workdir / "feeds.yaml"),
        "NEWSMON_RULES": str(workdir / "rules.yaml"),
        "NEWSMON_DATA_DIR": str(workdir / "data"),
        "NEWSMON_POLL_INTERVAL": "1",
        "NEWSMON_INGEST__MIN_INTERVAL": "1",
        "NEWSMON_INGEST__MAX_INTERVAL": "3",  # feeds that did not change are polled again soon
        "NEWSMON_INGEST__HOST_SPACING": "0",
        "NEWSMON_INGEST__HOST_CONCURRENCY": "4",
        "NEWSMON_LOG_FORMAT": "json",
    }


def _inject_poison(cfg: ChaosConfig, ns: str) -> set[str]:
    from newsmon.adapters.kafka_bus import KafkaBus
    from newsmon.bus import RAW_TOPIC

    bus = KafkaBus(cfg.bus, prefix=ns)
    try:
        bus.ensure_topics()
        keys = {f"poison-{i}" for i in range(cfg.poison)}
        for key in sorted(keys):
            bus.publish(RAW_TOPIC, key, b"\x00not an article " + key.encode())
        bus.flush()
        return keys
    finally:
        bus.close()


def _supervise(stack: Stack, result: ChaosResult) -> None:
    """Restart a service that exited without being killed by us (a crash)."""
    for stage, code in stack.exit_codes().items():
        if code is not None:
            log.warning("stage=%s exited on its own code=%s: restarting", stage, code)
            result.crashes += 1
            stack.start(stage)


def _kill_phase(cfg: ChaosConfig, stack: Stack, rng: random.Random, result: ChaosResult) -> None:
    counts: Counter[str] = Counter()
    for _ in range(cfg.kills):
        _sleep_supervised(rng.uniform(*cfg.gap), stack, result)
        stage = rng.choice(cfg.stages)
        stack.kill(stage)
        counts[stage] += 1
        result.kills += 1
        pause = rng.uniform(*cfg.down)
        log.info("kill -9 #%d stage=%s down=%.1fs", result.kills, stage, pause)
        time.sleep(pause)
        stack.start(stage)
    result.kills_by_stage = dict(counts)


def _sleep_supervised(seconds: float, stack: Stack, result: ChaosResult) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(1.0, left))
        _supervise(stack, result)


def _settle(cfg: ChaosConfig, stack: Stack, ns: str, result: ChaosResult) -> bool:
    """Wait until every article is stored and no group has lag (twice in a row)."""
    from newsmon.adapters.kafka_admin import group_lags
    from newsmon.status import GROUPS

    deadline = time.monotonic() + cfg.settle_timeout
    quiet = 0
    while time.monotonic() < deadline:
        _supervise(stack, result)
        stored = _count(cfg, ns)
        try:
            lags = {g: v["lag"] for g, v in group_lags(cfg.bus, GROUPS, ns).items()}
        except Exception as exc:  # the broker is fine here; retry next round
            lags = {"error": str(exc)}
        done = stored >= cfg.articles and all(v == 0 for v in lags.values())
        quiet = quiet + 1 if done else 0
        log.info("settling stored=%d/%d lags=%s", stored, cfg.articles, lags)
        if quiet >= 2:
            return True
        time.sleep(3)
    return False


def _es(cfg: ChaosConfig) -> Any:
    from elasticsearch import Elasticsearch

    return Elasticsearch(cfg.store, request_timeout=60)


def _count(cfg: ChaosConfig, ns: str) -> int:
    from index.layout import load_layout

    es = _es(cfg)
    try:
        alias = load_layout(ns).alias
        es.indices.refresh(index=alias, ignore_unavailable=True)
        return int(es.count(index=alias)["count"])
    except Exception:
        return 0
    finally:
        es.close()


def _scan(cfg: ChaosConfig, index: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    from elasticsearch import helpers

    es = _es(cfg)
    try:
        es.indices.refresh(index=index, ignore_unavailable=True)
        return [
            h["_source"]
            for h in helpers.scan(es, index=index, query={"query": query}, size=2000,
                                  _source=["article_id", "story_id"])
        ]
    finally:
        es.close()


def _verify(
    cfg: ChaosConfig, ns: str, world: FeedWorld, receiver: Receiver, poison: set[str],
    result: ChaosResult,
) -> None:
    from index.layout import load_layout
    from newsmon.schema import article_id

    alias = load_layout(ns).alias
    expected = {article_id(world.url(item)) for item in world.items}
    docs = _scan(cfg, alias, {"match_all": {}})
    ids = Counter(str(d["article_id"]) for d in docs)
    result.stored = len(ids)
    result.duplicates = sum(n - 1 for n in ids.values())
    result.losses = len(expected - ids.keys())
    want: set[tuple[str, str]] = set()
    for name, query in RULES:
        q = {"query_string": {"query": query, "default_operator": "OR", "analyze_wildcard": True}}
        want |= {(name, str(d["story_id"])) for d in _scan(cfg, alias, q)}
    calls = Counter((str(c.get("rule")), str(c.get("story_id"))) for c in receiver.snapshot())
    result.alerts_expected = len(want)
    result.alerts_delivered = sum(calls.values())
    result.double_alerts = sum(n - 1 for n in calls.values())
    result.alert_losses = len(want - calls.keys())
    result.unexpected_alerts = len(calls.keys() - want)
    _verify_dead_letters(cfg, ns, poison, result)


def _verify_dead_letters(cfg: ChaosConfig, ns: str, poison: set[str], result: ChaosResult) -> None:
    from newsmon import deadletter
    from newsmon.adapters.kafka_bus import KafkaBus

    bus = KafkaBus(cfg.bus, prefix=ns)
    try:
        found = deadletter.letters(bus, timeout=30)
    finally:
        bus.close()
    keys = {lt.key for lt in found}
    result.dead_letters = len(found)
    result.unexpected_dead_letters = sum(1 for lt in found if lt.key not in poison)
    result.missing_dead_letters = len(poison - keys)
    for lt in found:
        if lt.key not in poison:
            log.warning("unexpected dead letter %s", lt.summary())


def _cleanup(cfg: ChaosConfig, ns: str) -> None:
    try:
        es = _es(cfg)
        names = list(es.indices.get(index=f"{ns}*", allow_no_indices=True))
        if names:  # by name: wildcard deletes are refused (action.destructive_requires_name)
            es.indices.delete(index=",".join(names), ignore_unavailable=True)
        es.close()
        from kafka import KafkaAdminClient

        from newsmon.adapters.kafka_bus import bootstrap_servers

        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers(cfg.bus))
        topics = [t for t in admin.list_topics() if t.startswith(ns)]
        if topics:
            admin.delete_topics(topics)
        admin.close()
    except Exception as exc:  # best effort: a leftover namespace harms nobody
        log.warning("cleanup of %s failed: %s", ns, exc)
