"""Fit the learned salience model (``process/data/salience.learned.json``) on labelled data.

    .venv/bin/python -m process.fit_salience tests/data/corpus/articles.jsonl [--split train]

Needs scikit-learn. For every labelled article the tagger finds the actors and their features
(:func:`process.actors.actor_features`); an actor both annotators named as principal
(``actors_core``) is a positive, one neither named (not in ``actors_any``) a negative, one only
one annotator named is left out. The threshold is the one with the best F1 as
:mod:`process.evaluate` counts it (recall of ``actors_core``, precision against ``actors_any``)
over 5-fold cross-validated probabilities of the same articles.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .actors import actor_features
from .evaluate import read_jsonl, split_of
from .fit import THRESHOLD_GRID, broad_optimum, folds_of
from .normalize import fold
from .salience import LEARNED_FEATURES, SALIENCE_FILE, feature_row


@dataclass(frozen=True)
class ActorRow:
    item: str
    lang: str
    x: np.ndarray
    target: bool | None  # None: only one annotator named it


@dataclass(frozen=True)
class Item:
    id: str
    lang: str
    core: frozenset[str]  # actors_core, canonical
    rows: tuple[ActorRow, ...]
    names: tuple[str, ...]  # canonical name of each row


def prepare(
    articles: Sequence[Mapping[str, Any]],
    labels: Mapping[str, Mapping[str, Any]],
    tagger: Any,
) -> list[Item]:
    items = [a for a in articles if a["id"] in labels]
    found = tagger.mentions_batch([(a.get("title") or "", a.get("text") or "") for a in items])
    canon: Callable[[str], str] = lambda n: fold(tagger.gazetteer.canonical(n))  # noqa: E731
    out = []
    for a, m in zip(items, found, strict=True):
        label = labels[a["id"]]
        core = frozenset(canon(n) for n in label.get("actors_core", ()))
        anyone = {canon(n) for n in label.get("actors_any", ())}
        rows, names = [], []
        for name, f in actor_features(m.actors, m.length, m.parsed, m.title_len):
            key = canon(name)
            target = True if key in core else (None if key in anyone else False)
            rows.append(ActorRow(a["id"], a.get("language") or "?", feature_row(f), target))
            names.append(key)
        out.append(Item(a["id"], a.get("language") or "?", core, tuple(rows), tuple(names)))
    return out


@dataclass(frozen=True)
class Model:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


def fit(items: Sequence[Item], c: float = 1.0) -> Model:
    from sklearn.linear_model import LogisticRegression

    rows = [r for it in items for r in it.rows if r.target is not None]
    x = np.array([r.x for r in rows])
    y = np.array([bool(r.target) for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    lr = LogisticRegression(C=c, max_iter=2000)
    lr.fit((x - mean) / scale, y)
    return Model(mean, scale, lr.coef_[0].copy(), float(lr.intercept_[0]))


def cv_probabilities(items: Sequence[Item], n_folds: int = 5, c: float = 1.0) -> list[np.ndarray]:
    folds = folds_of([it.id for it in items], n_folds, seed="newsmon-salience-cv-v1")
    out: list[np.ndarray] = [np.zeros(len(it.rows)) for it in items]
    for f in range(n_folds):
        model = fit([it for it, g in zip(items, folds, strict=True) if g != f], c)
        for i, g in enumerate(folds):
            if g == f and items[i].rows:
                out[i] = model.probabilities(np.array([r.x for r in items[i].rows]))
    return out


def scores(
    items: Sequence[Item], probs: Sequence[np.ndarray], threshold: float, lang: str | None = None
) -> dict[str, float]:
    """Principal-actor precision, recall and F1 as :mod:`process.evaluate` counts them."""
    tp = fn = ok = bad = 0
    for it, p in zip(items, probs, strict=True):
        if lang is not None and it.lang != lang:
            continue
        principal = {n for n, q in zip(it.names, p, strict=True) if q >= threshold}
        tp += len(it.core & principal)
        fn += len(it.core - principal)
        targets = {n: r.target for n, r in zip(it.names, it.rows, strict=True)}
        ok += sum(1 for n in principal if targets.get(n) is not False)
        bad += sum(1 for n in principal if targets.get(n) is False)
    recall = tp / (tp + fn) if tp + fn else 1.0
    precision = ok / (ok + bad) if ok + bad else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def best_threshold(items: Sequence[Item], probs: Sequence[np.ndarray]) -> float:
    f1s = [scores(items, probs, float(t))["f1"] for t in THRESHOLD_GRID]
    return broad_optimum(THRESHOLD_GRID, f1s)


def save(path: Path, model: Model, threshold: float, fitted: dict[str, Any]) -> None:
    data = {
        "features": list(LEARNED_FEATURES),
        "mean": [round(float(v), 6) for v in model.mean],
        "scale": [round(float(v), 6) for v in model.scale],
        "weights": [round(float(v), 6) for v in model.weights],
        "bias": round(model.bias, 6),
        "threshold": round(threshold, 4),
        "fitted": fitted,
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - a tool
    from .tagger import Tagger

    ap = argparse.ArgumentParser(prog="python -m process.fit_salience")
    ap.add_argument("dataset")
    ap.add_argument("--labels", default=None)
    ap.add_argument("--split", default="train", choices=("train", "dev", "test", "all"))
    ap.add_argument("--out", default=str(SALIENCE_FILE))
    ap.add_argument("--c", type=float, default=1.0)
    args = ap.parse_args(argv)
    dataset = Path(args.dataset)
    labels_path = Path(args.labels) if args.labels else dataset.with_name("labels.jsonl")
    articles = [
        a
        for a in read_jsonl(dataset)
        if args.split == "all" or split_of(a.get("url") or a["id"]) == args.split
    ]
    labels = {r["id"]: r for r in read_jsonl(labels_path)}
    tagger = Tagger.load(learned=False)
    items = prepare(articles, labels, tagger)
    probs = cv_probabilities(items, c=args.c)
    threshold = best_threshold(items, probs)
    report = {
        "cv": scores(items, probs, threshold),
        **{f"cv_{lang}": scores(items, probs, threshold, lang) for lang in ("en", "ru", "uk")},
    }
    model = fit(items, args.c)
    fitted = {
        "on": f"{dataset.name} split={args.split}",
        "articles": len(items),
        "actors": sum(len(it.rows) for it in items),
        "C": args.c,
        "date": datetime.now(UTC).date().isoformat(),
        **report,
    }
    save(Path(args.out), model, threshold, fitted)
    print(json.dumps({"threshold": threshold, **fitted}, indent=1))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
