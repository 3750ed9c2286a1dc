"""The quality report behind docs/quality.md: cross-validation, the test split, story links.

    .venv/bin/python -m process.quality            # 5-fold CV on train+dev, story pairs
    .venv/bin/python -m process.quality --test     # ... and the frozen test split

Needs scikit-learn (the folds refit the learned layers). Cross-validation refits the topic's
learned layer and the salience model on four folds of train+dev and scores the fifth, so no
article is scored by a model that saw it; the test split is scored by the shipped models,
which were fitted on train alone (``newsmon eval ... --split test`` gives the same topic and
actor figures). Story links: the corpus's labelled English / Russian-Ukrainian pairs are run
through the story clusterer in publication order, and a pair is linked when both articles get
one story id.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from newsmon.schema import RawArticle

from . import fit, fit_salience
from .evaluate import evaluate, prf, read_jsonl, split_of
from .story import ClusterConfig, StoryClusterer, story_entities

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "corpus"
LANGS = ("en", "ru", "uk")


def topic_table(
    rows: Sequence[fit.Row], probs: np.ndarray, threshold: float, classes: Mapping[str, str]
) -> dict[str, Any]:
    """Topic P/R/F1 overall and per language, and the decisions by class."""
    pred = probs >= threshold
    out: dict[str, Any] = {}
    for lang in ("all", *LANGS):
        m = [lang == "all" or r.lang == lang for r in rows]
        tp = sum(1 for r, p, k in zip(rows, pred, m, strict=True) if k and p and r.label)
        fp = sum(1 for r, p, k in zip(rows, pred, m, strict=True) if k and p and not r.label)
        fn = sum(1 for r, p, k in zip(rows, pred, m, strict=True) if k and not p and r.label)
        out[lang] = {"items": sum(m), **prf(tp, fp, fn)}
    confusion: dict[str, Counter[str]] = {}
    for r, p in zip(rows, pred, strict=True):
        confusion.setdefault(classes[r.id], Counter())["yes" if p else "no"] += 1
    out["by_class"] = {c: dict(v) for c, v in sorted(confusion.items())}
    return out


def cross_validate(
    articles: Sequence[Mapping[str, Any]], labels: Mapping[str, Any], tagger: Any, embedder: Any
) -> dict[str, Any]:
    classes = {i: row["class"] for i, row in labels.items()}
    topic = next(t for t in tagger.topics if t.spec.name == "peace_talks")
    rows = fit.prepare(topic, articles, labels, tagger, embedder)
    probs = fit.cross_val_probabilities(rows, 5)
    gated = np.array([r.gated for r in rows])
    threshold = fit.best_threshold(probs[gated], np.array([r.label for r in rows])[gated])
    items = fit_salience.prepare(articles, labels, tagger)
    aprobs = fit_salience.cv_probabilities(items)
    athreshold = fit_salience.best_threshold(items, aprobs)
    actors = {
        lang: fit_salience.scores(items, aprobs, athreshold, None if lang == "all" else lang)
        for lang in ("all", *LANGS)
    }
    return {
        "articles": len(rows),
        "topic_threshold": threshold,
        "topic": topic_table(rows, probs, threshold, classes),
        "salience_threshold": athreshold,
        "principal_actors": actors,
    }


def score_split(
    articles: Sequence[Mapping[str, Any]], labels: Mapping[str, Any], tagger: Any
) -> dict[str, Any]:
    """The shipped models on ``articles``: what ``newsmon eval --split`` prints, by language,
    and the topic decisions by class."""
    paired = [a for a in articles if a["id"] in labels]
    start = time.perf_counter()
    tags = tagger.tag_batch([(a.get("title") or "", a.get("text") or "") for a in paired])
    seconds = time.perf_counter() - start
    canon = tagger.gazetteer.canonical
    out: dict[str, Any] = {
        "articles": len(paired),
        "seconds_per_article": round(seconds / max(len(paired), 1), 4),
    }
    for lang in ("all", *LANGS):
        idx = [i for i, a in enumerate(paired) if lang == "all" or a.get("language") == lang]
        res = evaluate([labels[paired[i]["id"]] for i in idx], [tags[i] for i in idx], canon)
        res.pop("failures")
        out[lang] = res
    confusion: dict[str, Counter[str]] = {}
    for a, t in zip(paired, tags, strict=True):
        got = any(x.name == "peace_talks" for x in t.topics)
        confusion.setdefault(labels[a["id"]]["class"], Counter())["yes" if got else "no"] += 1
    out["by_class"] = {c: dict(v) for c, v in sorted(confusion.items())}
    return out


def story_pairs(
    articles: Mapping[str, Mapping[str, Any]],
    pairs: Sequence[Mapping[str, Any]],
    tagger: Any,
    config: ClusterConfig | None = None,
) -> dict[str, Any]:
    """Pairwise precision and recall of cross-lingual story links on the labelled pairs."""
    # time order; ties by id, not by the set's order (which the string hash seed changes)
    ids = sorted({p[k] for p in pairs for k in ("a", "b")}, key=lambda i: (_when(articles[i]), i))
    items = [(articles[i].get("title") or "", articles[i].get("text") or "") for i in ids]
    pending = tagger.submit(items)
    vectors = [
        v if v is not None else tagger.embedder.embed([_lead(it)])[0]
        for v, it in zip(pending.vectors, items, strict=True)
    ]
    tags = pending()
    clusterer = StoryClusterer(config)
    stories: dict[str, str] = {}
    for i, v, lang, t in zip(ids, vectors, pending.langs, tags, strict=True):  # in time order
        raw = _raw(articles[i])
        clusterer.assign_batch([raw], [v], [lang], commit=False)
        stories[i] = clusterer.link_batch([raw.article_id], [story_entities(t)])[0]
    tp = fp = fn = tn = 0
    for p in pairs:
        linked = stories[p["a"]] == stories[p["b"]]
        tp += linked and p["same_story"]
        fp += linked and not p["same_story"]
        fn += not linked and p["same_story"]
        tn += not linked and not p["same_story"]
    return {
        "pairs": len(pairs),
        "same_story": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        **prf(tp, fp, fn),
    }


def _lead(item: tuple[str, str]) -> str:
    from .semantic import lead

    return lead(*item)


def _when(article: Mapping[str, Any]) -> datetime:
    """Publication day at noon UTC (the corpus has days, some only months)."""
    value = str(article.get("published") or "2000")
    parts = [int(x) for x in value[:10].split("-")] + [7, 1]
    year, month = parts[0], parts[1] if len(value) >= 7 else 6
    day = parts[2] if len(value) >= 10 else 15
    return datetime(year, month, day, 12, tzinfo=UTC)


def _raw(article: Mapping[str, Any]) -> RawArticle:
    when = _when(article)
    return RawArticle(
        article_id=_hex(article["id"]),
        url=article.get("url") or f"https://example.org/{article['id']}",
        title=article.get("title") or "",
        text=article.get("text") or "",
        source=article.get("source") or "",
        published=when,
        fetched=when,
    )


def _hex(item_id: str) -> str:
    import hashlib

    return hashlib.sha256(item_id.encode()).hexdigest()[:32]


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - a tool
    from .semantic import Embedder
    from .tagger import Tagger
    from .topics import TOPICS_DIR, load_topics

    ap = argparse.ArgumentParser(prog="python -m process.quality")
    ap.add_argument("--test", action="store_true", help="also score the frozen test split")
    ap.add_argument("--corpus", default=str(CORPUS))
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    articles = read_jsonl(corpus / "articles.jsonl")
    labels = {r["id"]: r for r in read_jsonl(corpus / "labels.jsonl")}
    report: dict[str, Any] = {"agreement": json.loads((corpus / "agreement.json").read_text())}
    report["splits"] = dict(
        Counter((split_of(a["url"]), a["language"]) for a in articles).most_common()
    )
    report["splits"] = {f"{s}/{lang}": n for (s, lang), n in report["splits"].items()}
    tagger = Tagger.load()
    keyword = Tagger(tagger.nlp, tagger.gazetteer, load_topics(TOPICS_DIR, learned=False),
                     salience_model=tagger.salience_model)  # what the topic layer is fitted on
    train_dev = [a for a in articles if split_of(a["url"]) in ("train", "dev")]
    report["cv"] = cross_validate(train_dev, labels, keyword, tagger.embedder or Embedder())
    pairs_path = corpus / "story_pairs.jsonl"
    if pairs_path.exists():
        by_id = {a["id"]: a for a in articles}
        report["story_pairs"] = story_pairs(by_id, read_jsonl(pairs_path), tagger)
    if args.test:
        test = [a for a in articles if split_of(a["url"]) == "test"]
        report["test"] = score_split(test, labels, tagger)
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
