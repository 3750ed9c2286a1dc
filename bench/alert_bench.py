"""Alert matching at scale: 1,000 rules over the dev-set stream; the last line is JSON.

Rules are generated (seeded) from the dev set's own vocabulary so that some match: single
words, AND / OR pairs, phrases, ``actor:`` / ``topic:`` clauses, NOT clauses, prefix
wildcards, and a share of rules without a required term (``published`` ranges, negations
only) that the index must always evaluate. Each article of tests/fixtures/parity_docs.jsonl
is matched (a) against every rule (full scan) and (b) through the rule index; both must select
the same (rule, article) pairs. Then the whole alert stage handles the stream (decode, match,
ledger on the in-memory store, log-free recording channel): the latency it adds per article.

    .venv/bin/python bench/alert_bench.py [--rules 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alert.matching import RuleIndex  # noqa: E402
from alert.rules import Rule, match  # noqa: E402
from alert.stage import AlertStage  # noqa: E402
from newsmon.bus import TAGGED_TOPIC, Record  # noqa: E402
from newsmon.query import analyze, compile_query, prepare  # noqa: E402
from newsmon.schema import TaggedArticle  # noqa: E402
from newsmon.store import MemoryStore  # noqa: E402

DOCS = ROOT / "tests" / "fixtures" / "parity_docs.jsonl"


class NullChannel:
    kind = "null"
    label = "null"
    budget = 0.0

    def __init__(self) -> None:
        self.sent = 0

    def send(self, payload: Any) -> None:
        self.sent += 1


def vocabulary(docs: list[dict[str, Any]]) -> tuple[list[str], list[str], list[str]]:
    words: dict[str, int] = {}
    for d in docs:
        for tok in set(analyze(f"{d.get('title', '')} {d.get('text', '')}")):
            if tok.isalpha() and len(tok) > 3:
                words[tok] = words.get(tok, 0) + 1
    common = sorted(words, key=lambda w: (-words[w], w))
    actors = sorted({a for d in docs for a in d.get("actor", [])})
    topics = sorted({t for d in docs for t in d.get("topic", [])}) or ["peace_talks"]
    return common, actors, topics


def make_queries(n: int, docs: list[dict[str, Any]], seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    words, actors, topics = vocabulary(docs)
    frequent, rare = words[:300], words[300:] or words
    fake = [f"zz{rnd.randrange(10**6)}" for _ in range(200)]  # terms no article has

    def w() -> str:
        return rnd.choice(rnd.choice([frequent, rare, rare, fake, fake]))

    makers = [
        lambda: w(),
        lambda: f"{w()} AND {w()}",
        lambda: f"{w()} OR {w()}",
        lambda: f'"{w()} {w()}"',
        lambda: f'{w()} AND actor:"{rnd.choice(actors)}"' if actors else w(),
        lambda: f"topic:{rnd.choice(topics)} AND {w()}",
        lambda: f"{w()} AND NOT {w()}",
        lambda: f"{w()[:4]}*",
        lambda: f"NOT {w()}",  # no required term: always evaluated
        lambda: f"published:[2025-01-01 TO 2025-12-31] AND ({w()} OR *)",
    ]
    weights = [30, 20, 10, 10, 10, 5, 5, 5, 2, 3]
    return [rnd.choices(makers, weights)[0]() for _ in range(n)]


def timed(fn: Any, repeat: int) -> float:
    best = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best.append(time.perf_counter() - t0)
    return statistics.median(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    docs = [json.loads(line) for line in DOCS.read_text("utf-8").splitlines() if line.strip()]
    channel = NullChannel()
    rules = [Rule(f"r{i}", q, compile_query(q), (channel,))
             for i, q in enumerate(make_queries(args.rules, docs))]
    t0 = time.perf_counter()
    index = RuleIndex(rules)
    build_s = time.perf_counter() - t0

    def full_scan() -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for d in docs:
            p = prepare(d)
            out.update((r.name, d["article_id"]) for r in rules if match(r, p) is not None)
        return out

    def indexed() -> set[tuple[str, str]]:
        return {(r.name, d["article_id"]) for d in docs for r, _ in index.matches(prepare(d))}

    same = full_scan() == indexed()
    scan_s, index_s = timed(full_scan, args.repeat), timed(indexed, args.repeat)
    candidates = statistics.mean(len(index.candidates(prepare(d))) for d in docs)
    pairs = len(indexed())

    now = datetime(2025, 9, 1, tzinfo=UTC)
    records = [Record(TAGGED_TOPIC, 0, i, d["article_id"], tagged_bytes(d, now))
               for i, d in enumerate(docs)]

    def stage_pass() -> None:
        AlertStage(MemoryStore(), rules, lambda: now).handle(records)

    def stage_without_rules() -> None:
        AlertStage(MemoryStore(), [], lambda: now).handle(records)

    stage_s = timed(stage_pass, args.repeat)
    base_s = timed(stage_without_rules, args.repeat)
    n = len(docs)
    figures = {
        "bench": "alert",
        "rules": len(rules),
        "articles": n,
        "indexed_rules": index.indexed,
        "always_evaluated_rules": len(index.always),
        "mean_candidate_rules_per_article": round(candidates, 1),
        "matched_pairs": pairs,
        "index_equals_full_scan": same,
        "index_build_ms": round(build_s * 1000, 1),
        "match_full_scan_ms_per_article": round(scan_s / n * 1000, 3),
        "match_indexed_ms_per_article": round(index_s / n * 1000, 3),
        "speedup": round(scan_s / index_s, 1),
        "stage_ms_per_article": round(stage_s / n * 1000, 3),
        "stage_added_ms_per_article_vs_no_rules": round((stage_s - base_s) / n * 1000, 3),
    }
    print(f"{len(rules)} rules ({index.indexed} indexed, {len(index.always)} always evaluated)"
          f" over {n} articles: full scan {figures['match_full_scan_ms_per_article']} ms/article,"
          f" indexed {figures['match_indexed_ms_per_article']} ms/article;"
          f" whole stage {figures['stage_ms_per_article']} ms/article", file=sys.stderr)
    print(json.dumps(figures))
    if not same:
        sys.exit(1)


def tagged_bytes(doc: dict[str, Any], now: datetime) -> bytes:
    """The dev-set search document back as a tagged-topic message."""
    article = TaggedArticle(
        article_id=doc["article_id"], url=doc["url"], title=doc.get("title", ""),
        text=doc.get("text", ""), source=doc.get("source", ""), lang=doc.get("lang"),
        published=doc.get("published"), fetched=doc.get("fetched") or now,
        actors=tuple(doc.get("actors", [])), topics=tuple(doc.get("topics", [])),
        story_id=doc.get("story_id") or doc["article_id"], tagged=doc.get("tagged") or now,
    )
    return article.model_dump_json().encode()


if __name__ == "__main__":
    main()
