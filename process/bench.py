"""Throughput of ``Tagger.tag_batch`` against raw ``nlp.pipe`` with the same components, on the
same texts, in the same run: ``python -m process.bench [articles.jsonl] [--repeat N]``.
Prints one JSON object."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .evaluate import read_jsonl
from .tagger import NLP_BATCH, Tagger, _join

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "dev" / "articles.jsonl"


def _timed(run: Callable[[], object], repeat: int) -> float:
    run()  # warm-up
    start = time.perf_counter()
    for _ in range(repeat):
        run()
    return (time.perf_counter() - start) / repeat


def bench(items: Sequence[tuple[str, str]], tagger: Tagger, repeat: int = 3) -> dict[str, Any]:
    texts = [_join(t, x) for t, x in items]
    words = sum(len(t.split()) for t in texts)
    raw = _timed(lambda: list(tagger.nlp.pipe(texts, batch_size=NLP_BATCH)), repeat)
    tagged = _timed(lambda: tagger.tag_batch(items), repeat)

    def rate(seconds: float) -> dict[str, float]:
        return {"articles_per_s": round(len(items) / seconds, 1),
                "words_per_s": round(words / seconds), "seconds": round(seconds, 3)}

    return {"articles": len(items), "words": words, "pipes": tagger.nlp.pipe_names,
            "raw_nlp_pipe": rate(raw), "tag_batch": rate(tagged),
            "overhead": round(tagged / raw - 1.0, 3)}


def main() -> None:  # pragma: no cover - manual use
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("articles", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = read_jsonl(args.articles)
    items = [(r.get("title", ""), r.get("text", "")) for r in rows]
    print(json.dumps(bench(items, Tagger.load(), args.repeat)))


if __name__ == "__main__":  # pragma: no cover
    main()
