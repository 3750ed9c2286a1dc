"""One pipeline run: feeds served locally → ``newsmon ingest`` → Kafka → ``newsmon process``
(one or more instances, one consumer group) → Kafka → ``newsmon index`` → Elasticsearch, each
stage its own OS process, in a namespace of its own that is deleted afterwards.

Sequence: create the topics (``partitions`` each); start index and the processors; wait until
the processor group is stable with every instance in it; push ``warmup`` raw articles straight
into Kafka and wait until they are searchable (models loaded, connections open, index created);
start ingest while every feed is still empty and wait until it has polled each once; snapshot
CPU; release the items (all at once, or at ``rate`` per second); wait until every article is
searchable; snapshot CPU and peak RSS; stop everything with SIGTERM.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from bench.corpus import Item, load_dev
from bench.feeds import ProgressiveFeeds, feeds_yaml, serve
from bench.observe import Watcher, percentile
from bench.stack import Stack, children, cpu_seconds, peak_rss_mb, read_pid, schedstat, wait_for
from newsmon.adapters.kafka_bus import KafkaBus, bootstrap_servers
from newsmon.bus import ALL_TOPICS, FEEDS_TOPIC, RAW_TOPIC
from newsmon.schema import RawArticle, article_id, canonical_url, encode

ALIAS = "news-articles"


@dataclass
class RunConfig:
    bus: str
    store: str
    feeds: int
    partitions: int
    instances: int = 1
    process_batch: int = 64
    index_batch: int = 500
    warmup: int = 16
    rate: float | None = None  # None: release everything at once
    window: int = 100
    timeout: float = 900.0
    svc_dir: Path = Path("/var/tmp/newsmon-svc")
    keep: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)


def service_env(cfg: RunConfig, ns: str, tmp: Path) -> dict[str, str]:
    import os

    return {
        **os.environ,
        "NEWSMON_BUS": cfg.bus, "NEWSMON_STORE": cfg.store, "NEWSMON_NAMESPACE": ns,
        "NEWSMON_FEEDS": str(tmp / "feeds.yaml"), "NEWSMON_DATA_DIR": str(tmp / "data"),
        "NEWSMON_KAFKA_PARTITIONS": str(cfg.partitions), "NEWSMON_METRICS_PORT": "0",
        "NEWSMON_LOG_FORMAT": "json", "NEWSMON_POLL_INTERVAL": "1",
        "NEWSMON_ALLOW_PRIVATE_ADDRESSES": "true",
        # every outlet is served from one loopback host here; real outlets are many hosts
        "NEWSMON_INGEST__HOST_SPACING": "0", "NEWSMON_INGEST__HOST_CONCURRENCY": "8",
        "NEWSMON_INGEST__MIN_INTERVAL": "1", "NEWSMON_INGEST__MAX_INTERVAL": "1",
        "NEWSMON_INGEST__FULL_TEXT_PER_POLL": "0",
        **cfg.extra_env,
    }


def run(cfg: RunConfig, items: Sequence[Item]) -> dict[str, Any]:
    ns = f"bench{uuid.uuid4().hex[:8]}-"
    tmp = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    feeds = ProgressiveFeeds(items, cfg.feeds, window=cfg.window if cfg.rate else len(items))
    watcher = Watcher(cfg.store, ns + ALIAS)
    try:
        with serve(feeds) as base:
            (tmp / "feeds.yaml").write_text(feeds_yaml(base, cfg.feeds, 1))
            stack = Stack(service_env(cfg, ns, tmp), tmp)
            try:
                return _measure(cfg, items, ns, tmp, feeds, stack, watcher)
            finally:
                codes = stack.stop()
                if any(c not in (0, None) for c in codes.values()):
                    print(f"bench: unclean exit {codes}\n{stack.logs()}", flush=True)
    finally:
        watcher.close()
        if not cfg.keep:
            _cleanup(cfg, ns)
            shutil.rmtree(tmp, ignore_errors=True)


def _measure(cfg: RunConfig, items: Sequence[Item], ns: str, tmp: Path,
             feeds: ProgressiveFeeds, stack: Stack, watcher: Watcher) -> dict[str, Any]:
    bus = KafkaBus(cfg.bus, partitions=cfg.partitions, prefix=ns)
    bus.ensure_topics()
    stack.start("index", "index", {"NEWSMON_BATCH_SIZE": str(cfg.index_batch)})
    for i in range(1, cfg.instances + 1):
        stack.start(f"process-{i}", "process", {"NEWSMON_BATCH_SIZE": str(cfg.process_batch),
                                                "NEWSMON_DATA_DIR": str(tmp / f"process-{i}")})
    _wait_group(cfg, ns + "newsmon-process", cfg.instances, stack)
    _warm_up(bus, cfg.warmup)
    bus.close()
    watcher.wait_count(cfg.warmup, 300, alive=stack.check_alive)
    stack.start("ingest", "ingest")
    wait_for(lambda: min(feeds.hits) >= 1, 60, "ingest's first poll of every feed",
             alive=stack.check_alive)
    time.sleep(0.5)
    pids = _pids(cfg, stack)
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    sched0 = {name: schedstat(pid) for name, pid in pids.items() if name.startswith("process")}
    released = time.time()
    ids = {article_id(i.link) for i in items}
    seen: dict[str, float] = {}
    if cfg.rate is None:
        feeds.release_all()
        ended = watcher.wait_count(cfg.warmup + len(ids), cfg.timeout, alive=stack.check_alive)
    else:
        feeds.release_at(cfg.rate)
        seen = watcher.watch_new(ids, cfg.timeout, alive=stack.check_alive)
        ended = max(seen.values())
    cpu1 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    sched = {name: [b - a for a, b in zip(sched0[name], schedstat(pids[name]), strict=True)]
             for name in sched0}
    rss = {name: peak_rss_mb(pid) for name, pid in pids.items()}
    docs = {k: v for k, v in watcher.documents().items() if k in ids}
    out = _summary(cfg, items, ids, docs, seen, released, ended, cpu0, cpu1, rss, stack)
    out["es_store_bytes_per_doc"] = watcher.store_bytes_per_doc()
    # the story store's size and load per article (warm-up articles included)
    out["story_store"] = watcher.story_store(ns, cfg.warmup + len(ids))
    wall = ended - released
    out["processor_time_s"] = {  # main threads of the processor and of its NLP worker:
        # running / waiting for a CPU (other load) / idle (no work)
        name: {"running": round(run, 2), "cpu_wait": round(wait, 2),
               "idle": round(max(0.0, wall - run - wait), 2)}
        for name, (run, wait) in sched.items()
    }
    return out


def _summary(cfg: RunConfig, items: Sequence[Item], ids: set[str],
             docs: dict[str, dict[str, float]], seen: dict[str, float], released: float,
             ended: float, cpu0: dict[str, float], cpu1: dict[str, float],
             rss: dict[str, float | None], stack: Stack) -> dict[str, Any]:
    first_fetch = min(d["fetched"] for d in docs.values())
    seconds = ended - first_fetch
    written = [d["ingested"] - d["fetched"] for d in docs.values()]
    visible = [seen[k] - docs[k]["fetched"] for k in seen]
    cpu = {name: round(cpu1[name] - cpu0[name], 2) for name in cpu0}
    process_cpu = sum(v for k, v in cpu.items() if k.startswith("process"))
    hits, misses = _cache_counts(stack.logdir)
    return {
        "instances": cfg.instances, "articles": len(ids), "documents": len(docs),
        "rate_offered": cfg.rate, "seconds": round(seconds, 2),
        "release_to_searchable_s": round(ended - released, 2),
        "articles_per_s": round(len(ids) / seconds, 2),
        "poll_to_written_s": _quantiles(written),
        "poll_to_searchable_s": _quantiles(visible) if visible else None,
        "cpu_s": {**cpu, "process": round(process_cpu, 2)},
        "cpu_s_per_article": {
            k: round(v / len(ids), 4) for k, v in {**cpu, "process": process_cpu}.items()
            if not k.startswith("process-")
        } | {"process_nlp_worker": round(  # the share of "process" spent in NLP workers
            sum(v for k, v in cpu.items() if ".nlp" in k) / len(ids), 4)},
        "peak_rss_mb": rss,
        # per processor instance, its main process and its NLP worker together
        "processor_rss_mb": {
            name: round(sum(v or 0.0 for k, v in rss.items() if k.split(".")[0] == name), 1)
            for name in rss if name.startswith("process") and "." not in name
        },
        "tag_cache": {"hits": hits, "misses": misses, "warmup_misses": cfg.warmup},
    }


def _quantiles(values: list[float]) -> dict[str, float | None]:
    return {f"p{q}": _r(percentile(values, q)) for q in (50, 95, 99)} | {"max": _r(max(values))}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _pids(cfg: RunConfig, stack: Stack) -> dict[str, int]:
    import os

    pids = dict(stack.pids())
    for name, parent in stack.pids().items():  # a processor's NLP worker: "process-1.nlp"
        if name.startswith("process"):
            for k, child in enumerate(children(parent)):
                pids[f"{name}.nlp{k or ''}"] = child
    pids["harness"] = os.getpid()  # feed server + watcher (+ the limit's model, idle here)
    for name, rel in (("kafka", "kafka/kafka.pid"), ("elasticsearch", "es/es.pid")):
        pid = read_pid(cfg.svc_dir / rel)
        if pid is not None:
            pids[name] = pid
    return pids


def _cache_counts(logdir: Path) -> tuple[int, int]:
    hits = misses = 0
    for log in logdir.glob("process-*.log"):
        found = re.findall(r"cache_hits=(\d+) cache_misses=(\d+)", log.read_text(errors="replace"))
        if found:
            hits, misses = hits + int(found[-1][0]), misses + int(found[-1][1])
    return hits, misses


def _wait_group(cfg: RunConfig, group: str, members: int, stack: Stack) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers(cfg.bus))
    try:
        def stable() -> bool:
            try:
                info = admin.describe_groups([group]).get(group) or {}
            except KafkaError:  # no coordinator yet (a fresh broker creates its offsets topic)
                return False
            return info.get("group_state") == "Stable" and len(info.get("members", [])) == members

        wait_for(stable, 300, f"{members} member(s) in {group}", every=0.5,
                 alive=stack.check_alive)
    finally:
        admin.close()


def _warm_up(bus: KafkaBus, count: int) -> None:
    rows = load_dev()
    now = datetime.now(UTC)
    for i in range(count):
        row = rows[i % len(rows)]
        url = canonical_url(f"https://warmup.example/{i}")
        raw = RawArticle(article_id=article_id(url), url=url, title=f"{row['title']} ({i})",
                         text=row["text"], source="warmup", fetched=now)
        bus.publish(RAW_TOPIC, raw.article_id, encode(raw))
    bus.flush()


def _cleanup(cfg: RunConfig, ns: str) -> None:
    """Delete the run's topics, groups, indices and templates (best effort)."""
    from elasticsearch import Elasticsearch

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers(cfg.bus))
        try:
            admin.delete_topics([ns + t for t in (*ALL_TOPICS, FEEDS_TOPIC)])
            admin.delete_groups(
                [ns + g for g in ("newsmon-process", "newsmon-index", "newsmon-ingest")]
            )
        finally:
            admin.close()
    except Exception as exc:  # noqa: BLE001 - cleanup must not hide the result
        print(f"bench: kafka cleanup of {ns}: {exc}", flush=True)
    es = Elasticsearch(cfg.store)
    try:
        for name in es.indices.get(index=f"{ns}*"):
            es.indices.delete(index=name)
        for name in (ns + "news-articles", ns + "news-alerts"):
            es.options(ignore_status=404).indices.delete_index_template(name=name)
        for name in (ns + "news-articles-settings", ns + "news-articles-mappings"):
            es.options(ignore_status=404).cluster.delete_component_template(name=name)
    except Exception as exc:  # noqa: BLE001
        print(f"bench: elasticsearch cleanup of {ns}: {exc}", flush=True)
    finally:
        es.close()
