"""``python -m chaos``: run the chaos harness; the last line is one JSON object."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from chaos.harness import ChaosConfig, compare_processors, run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="chaos", description=__doc__)
    p.add_argument("--articles", type=int, default=3000, help="articles to publish (3000)")
    p.add_argument("--kills", type=int, default=20, help="kill -9 this many times (20)")
    p.add_argument("--feeds", type=int, default=6, help="feeds the articles spread over (6)")
    p.add_argument(
        "--hosts",
        type=int,
        default=None,
        help="loopback hosts the feeds spread over (default: one per feed)",
    )
    p.add_argument(
        "--dup-share",
        type=float,
        default=0.35,
        help="share of articles that are syndicated copies of another (0.35)",
    )
    for stage, plural in (
        ("ingest", "ingesters"),
        ("process", "processors"),
        ("index", "indexers"),
        ("alert", "alerters"),
    ):
        p.add_argument(
            f"--{plural}",
            type=int,
            default=1,
            dest=stage,
            metavar="N",
            help=f"newsmon {stage} processes (1)",
        )
    p.add_argument(
        "--add-processor",
        action="store_true",
        help="start one more newsmon process halfway through the kill phase",
    )
    p.add_argument("--partitions", type=int, default=6, help="Kafka partitions per topic (6)")
    p.add_argument(
        "--compare-processors",
        action="store_true",
        help="no kills: the same world through 1 and through 2 processors; the "
        "story partitions must be identical",
    )
    p.add_argument(
        "--gap",
        type=float,
        nargs=2,
        default=(4.0, 15.0),
        metavar=("MIN", "MAX"),
        help="seconds between kills, uniform (4 15)",
    )
    p.add_argument(
        "--release-seconds",
        type=float,
        default=None,
        help="release every article within this time (default: ~ the kill phase)",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (printed in the result)")
    p.add_argument(
        "--bus",
        default=os.environ.get("NEWSMON_BUS", "kafka://127.0.0.1:9092"),
        help="Kafka URL (env NEWSMON_BUS)",
    )
    p.add_argument(
        "--store",
        default=os.environ.get("NEWSMON_STORE", "http://127.0.0.1:9200"),
        help="Elasticsearch URL (env NEWSMON_STORE)",
    )
    p.add_argument(
        "--private",
        action="store_true",
        help="start and use the private Kafka + Elasticsearch pair (chaos.services)",
    )
    p.add_argument("--workdir", type=Path, default=None, help="logs and state (default: temp)")
    p.add_argument("--keep", action="store_true", help="keep topics and indices afterwards")
    p.add_argument("--settle-timeout", type=float, default=1200.0)
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("kafka", "elastic_transport", "elasticsearch", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    bus, store = args.bus, args.store
    if args.private:
        from chaos.services import PrivateServices

        bus, store = PrivateServices().up()
    cfg = ChaosConfig(
        bus=bus,
        store=store,
        articles=args.articles,
        kills=args.kills,
        feeds=args.feeds,
        hosts=args.hosts,
        dup_share=args.dup_share,
        gap=tuple(args.gap),
        release_seconds=args.release_seconds,
        seed=args.seed,
        workdir=args.workdir,
        keep=args.keep,
        settle_timeout=args.settle_timeout,
        partitions=args.partitions,
        instances={s: getattr(args, s) for s in ("ingest", "process", "index", "alert")},
        add_processor=args.add_processor,
    )
    if cfg.workdir is not None:
        cfg.workdir.mkdir(parents=True, exist_ok=True)
    result = compare_processors(cfg) if args.compare_processors else run(cfg)
    print(result.line(), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
