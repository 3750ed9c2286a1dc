"""The delivery proof: the services on real Kafka + Elasticsearch, kill -9 at random.

A local feed server (on ``hosts`` loopback addresses) releases ``articles`` generated articles
over several feeds — a ``dup_share`` of them syndicated copies of others in other feeds, each
article with its ground-truth story (:mod:`chaos.world`) — while the harness kills a random
service instance with SIGKILL at random moments (``kills`` times) and restarts it after a
random pause; a service that exits on its own is restarted too (counted as a crash), as systemd
would. Each stage runs as ``instances[stage]`` processes (one consumer group per stage, one
ingest group over the feeds), so a kill moves partitions and feeds to the survivors and the
restart moves them back; with ``add_processor`` one more ``newsmon process`` joins halfway
through the kill phase. Then every article is released, the pipeline settles (every article in
Elasticsearch, no consumer lag), the services get SIGTERM, and :mod:`chaos.verify` checks the
store, the alerts, the dead letters and the stories.

:func:`compare_processors` runs one world twice without kills, through one processor and
through two, and compares the story partitions (they must be identical).

The last line printed is one JSON object of figures.
"""

from __future__ import annotations

import json
import logging
import random
import re
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chaos.stack import STAGES, Stack, instance_names, stage_of
from chaos.stories import difference
from chaos.verify import RULES, Target, cleanup, count, verify
from chaos.world import FeedWorld, Receiver, generate, serve

log = logging.getLogger("chaos")


@dataclass
class ChaosConfig:
    bus: str
    store: str
    articles: int = 3000
    kills: int = 20
    feeds: int = 6
    hosts: int | None = None  # loopback hosts the feeds are spread over (default: one per feed)
    dup_share: float = 0.35  # share of the articles that are syndicated copies of another
    gap: tuple[float, float] = (4.0, 15.0)  # seconds between kills
    down: tuple[float, float] = (0.2, 3.0)  # seconds a killed instance stays down
    release_seconds: float | None = None  # default: about the kill phase
    poison: int = 3
    settle_timeout: float = 1200.0
    seed: int | None = None
    workdir: Path | None = None
    keep: bool = False  # keep topics and indices afterwards
    #: the stages whose instances may be killed
    stages: tuple[str, ...] = STAGES
    #: processes per stage (missing: one)
    instances: dict[str, int] = field(default_factory=dict)
    #: start one more ``newsmon process`` halfway through the kill phase
    add_processor: bool = False
    partitions: int = 6  # Kafka partitions of the stage topics
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
    redeliveries: int = 0  # a delivery id sent again (killed between send and record)
    alert_losses: int = 0
    unexpected_alerts: int = 0
    dead_letters: int = 0
    unexpected_dead_letters: int = 0
    missing_dead_letters: int = 0
    near_duplicates: int = 0  # articles that are syndicated copies of another
    near_duplicate_share: float = 0.0
    groups: int = 0  # near-duplicate groups (an original and its copies)
    stories: int = 0  # distinct story ids in Elasticsearch
    split_groups: int = 0  # groups with more than one story id
    merged_groups: int = 0  # groups that went into another group's story
    clean_exits: bool = False
    settled: bool = False
    wall_seconds: float = 0.0
    instances: dict[str, int] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    kills_by_stage: dict[str, int] = field(default_factory=dict)
    kills_by_instance: dict[str, int] = field(default_factory=dict)
    ingest_feeds_owned: dict[str, int] = field(default_factory=dict)  # last count logged
    story_examples: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    namespace: str = ""
    stories_by_item: dict[int, str] = field(default_factory=dict)  # not in the line
    groups_by_item: dict[int, int] = field(default_factory=dict)  # not in the line

    @property
    def ok(self) -> bool:
        return self.settled and not (
            self.duplicates
            or self.losses
            or self.double_alerts
            or self.alert_losses
            or self.unexpected_alerts
            or self.unexpected_dead_letters
            or self.missing_dead_letters
            or self.split_groups
            or self.merged_groups
        )

    def figures(self) -> dict[str, Any]:
        hidden = ("stories_by_item", "groups_by_item")
        shown = {k: v for k, v in self.__dict__.items() if k not in hidden}
        return {**shown, "ok": self.ok}

    def line(self) -> str:
        return json.dumps(self.figures(), sort_keys=False)


def run(cfg: ChaosConfig) -> ChaosResult:
    seed = cfg.seed if cfg.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    target = Target(cfg.bus, cfg.store, f"chaos{uuid.uuid4().hex[:8]}-")
    counts = {stage: cfg.instances.get(stage, 1) for stage in STAGES}
    result = ChaosResult(
        articles=cfg.articles, seed=seed, namespace=target.namespace, instances=counts
    )
    workdir = cfg.workdir or Path(tempfile.mkdtemp(prefix="newsmon-chaos-"))
    started = time.monotonic()
    items = generate(cfg.articles, cfg.feeds, seed=seed, dup_share=cfg.dup_share)
    release = cfg.release_seconds or max(20.0, 0.7 * cfg.kills * sum(cfg.gap) / 2)
    world, receiver = FeedWorld(items, cfg.feeds, cfg.articles / release), Receiver()
    with ExitStack() as servers:
        hosts = cfg.hosts or cfg.feeds
        world.bases = [
            servers.enter_context(serve(world.handle, f"127.0.0.{h + 1}")) for h in range(hosts)
        ]
        hook_base = servers.enter_context(serve(receiver.handle))
        env = _environment(cfg, target.namespace, workdir, world, hook_base)
        poison = _inject_poison(cfg, target.namespace)
        stack = Stack(env, workdir / "logs")
        log.info(
            "chaos ns=%s seed=%d articles=%d copies=%d kills=%d instances=%s release=%.0fs "
            "workdir=%s",
            target.namespace,
            seed,
            cfg.articles,
            sum(i.copy for i in items),
            cfg.kills,
            counts,
            release,
            workdir,
        )
        try:
            world.start = time.monotonic()
            stack.start(*(n for stage in STAGES for n in instance_names(stage, counts[stage])))
            _kill_phase(cfg, stack, rng, result, release)
            if cfg.disrupt is not None:
                cfg.disrupt(stack)
            world.release_all()
            result.settled = _settle(cfg, target, stack, result)
        finally:
            codes = stack.stop()
            result.clean_exits = all(c == 0 for c in codes.values())
            if not result.clean_exits:
                log.warning("unclean exits %s", codes)
            result.runs = stack.starts
            result.ingest_feeds_owned = _feeds_owned(stack)
        verify(target, world, receiver, poison, result)
        if not result.ok:
            log.warning("logs:\n%s", stack.logs(4000))
    if not cfg.keep:
        cleanup(target)
    result.wall_seconds = round(time.monotonic() - started, 1)
    return result


def _environment(
    cfg: ChaosConfig, ns: str, workdir: Path, world: FeedWorld, hook: str
) -> dict[str, str]:
    import os

    lines = [
        f"- url: {world.feed_url(k)}\n  name: Chaos Wire {k}\n  interval: 1\n  full_text: false\n"
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
        "NEWSMON_KAFKA_PARTITIONS": str(cfg.partitions),
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

    bus = KafkaBus(cfg.bus, partitions=cfg.partitions, prefix=ns)
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
    for name, code in stack.exit_codes().items():
        if code is not None:
            log.warning("instance=%s exited on its own code=%s: restarting", name, code)
            result.crashes += 1
            stack.start(name)


def _kill_phase(
    cfg: ChaosConfig, stack: Stack, rng: random.Random, result: ChaosResult, release: float
) -> None:
    by_name: Counter[str] = Counter()
    if cfg.add_processor and not cfg.kills:
        _sleep_supervised(release / 2, stack, result)
        _add_processor(stack, result)
    for k in range(cfg.kills):
        if cfg.add_processor and k == cfg.kills // 2:
            _add_processor(stack, result)
        _sleep_supervised(rng.uniform(*cfg.gap), stack, result)
        name = rng.choice([n for n in stack.names() if stage_of(n) in cfg.stages])
        stack.kill(name)
        by_name[name] += 1
        result.kills += 1
        pause = rng.uniform(*cfg.down)
        log.info("kill -9 #%d instance=%s down=%.1fs", result.kills, name, pause)
        time.sleep(pause)
        stack.start(name)
    result.kills_by_instance = dict(by_name)
    by_stage: Counter[str] = Counter()
    for name, n in by_name.items():
        by_stage[stage_of(name)] += n
    result.kills_by_stage = dict(by_stage)


def _add_processor(stack: Stack, result: ChaosResult) -> None:
    """One more ``newsmon process`` joins the group mid-stream (a rebalance of its own)."""
    running = [n for n in stack.names() if stage_of(n) == "process"]
    name = f"process-{len(running) + 1}"
    stack.start(name)
    result.added.append(name)
    log.info("added instance=%s while articles stream in", name)


def _sleep_supervised(seconds: float, stack: Stack, result: ChaosResult) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(1.0, left))
        _supervise(stack, result)


def _settle(cfg: ChaosConfig, target: Target, stack: Stack, result: ChaosResult) -> bool:
    """Wait until every article is stored and no group has lag (twice in a row)."""
    from newsmon.adapters.kafka_admin import group_lags
    from newsmon.status import GROUPS

    deadline = time.monotonic() + cfg.settle_timeout
    quiet = 0
    while time.monotonic() < deadline:
        _supervise(stack, result)
        stored = count(target)
        try:
            lags = {g: v["lag"] for g, v in group_lags(cfg.bus, GROUPS, target.namespace).items()}
        except Exception as exc:  # the broker is fine here; retry next round
            lags = {"error": str(exc)}
        done = stored >= cfg.articles and all(v == 0 for v in lags.values())
        quiet = quiet + 1 if done else 0
        log.info("settling stored=%d/%d lags=%s", stored, cfg.articles, lags)
        if quiet >= 2:
            return True
        time.sleep(3)
    return False


def _feeds_owned(stack: Stack) -> dict[str, int]:
    """How many feeds each ingest instance owned when it last said so (its log)."""
    owned = {}
    for name in stack.names():
        if stage_of(name) == "ingest":
            found = re.findall(r"feeds owned=(\d+) of", stack.log_text(name))
            if found:
                owned[name] = int(found[-1])
    return owned


@dataclass
class Comparison:
    """One world through one processor and through two (no kills): the story partitions."""

    identical: bool
    only_one: list[list[int]]  # stories (items) of the one-processor run the other lacks
    only_two: list[list[int]]
    runs: list[ChaosResult]
    groups_of: dict[int, int]

    @property
    def ok(self) -> bool:
        return self.identical and all(r.ok for r in self.runs)

    def line(self) -> str:
        def shown(blocks: list[list[int]]) -> list[dict[str, list[int]]]:
            return [
                {"items": b, "groups": sorted({self.groups_of[i] for i in b})} for b in blocks[:20]
            ]

        return json.dumps(
            {
                "mode": "1-vs-2-processors",
                "identical": self.identical,
                "differing_stories": [len(self.only_one), len(self.only_two)],
                "only_1_processor": shown(self.only_one),
                "only_2_processors": shown(self.only_two),
                "runs": [r.figures() for r in self.runs],
                "ok": self.ok,
            }
        )


def compare_processors(cfg: ChaosConfig) -> Comparison:
    seed = cfg.seed if cfg.seed is not None else random.randrange(1 << 30)
    runs = []
    for processors in (1, 2):
        instances = {**cfg.instances, "process": processors}
        one = replace(
            cfg,
            seed=seed,
            kills=0,
            add_processor=False,
            instances=instances,
            workdir=_subdir(cfg.workdir, f"processors-{processors}"),
        )
        runs.append(run(one))
        log.info("%d processor(s): %s", processors, runs[-1].line())
    only_one, only_two = difference(runs[0].stories_by_item, runs[1].stories_by_item)
    for label, blocks in (("1 processor", only_one), ("2 processors", only_two)):
        for b in blocks:
            log.warning("only with %s: story of items %s", label, b)
    return Comparison(
        not only_one and not only_two, only_one, only_two, runs, runs[0].groups_by_item
    )


def _subdir(workdir: Path | None, name: str) -> Path | None:
    if workdir is None:
        return None
    (workdir / name).mkdir(parents=True, exist_ok=True)
    return workdir / name
