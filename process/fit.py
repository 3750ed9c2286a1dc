"""Fitting a topic's learned layer (``newsmon learn``) and cross-validating it.

Needs scikit-learn (``pip install newsmon[learn]``); scoring does not (:mod:`process.learned`).

For each labelled article the tagger gives the actors and the keyword signal, and the embedder
the vector of its title and lead. Only articles the layer would see at run time
(:func:`process.topics.needs_vector`: a topic term and a context term in the text) are used:
the rest are decided by the keyword rules there too. The prototypes are the training articles
themselves; each one's neighbour features are computed with itself left out, as an unseen
article would see them. The decision threshold is the middle of the broadest best F1 over
cross-validated probabilities of the training articles — never over the articles scored — with
the F1 curve averaged over ten cross-validations with different folds
(:func:`repeated_cv_threshold`), as one is flat with bumps one article high.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from newsmon.schema import Actor

from .evaluate import verdict
from .learned import FEATURES, Prototypes, feature_vector, save_learned
from .semantic import LEAD_TOKENS, Embedder, lead
from .topics import CompiledTopic, Signal, keyword_signal, needs_vector

K = 7
C = 1.0


@dataclass(frozen=True)
class Row:
    id: str
    label: bool
    lang: str
    gated: bool  # the learned layer sees it
    keyword_yes: bool  # the keyword rules' verdict (what an ungated article gets)
    signal: Signal
    actors: tuple[Actor, ...]
    body_chars: int
    vector: np.ndarray
    caption: str


def prepare(
    topic: CompiledTopic,
    articles: Sequence[Mapping[str, Any]],
    labels: Mapping[str, Mapping[str, Any]],
    tagger: Any,
    embedder: Embedder,
) -> list[Row]:
    """One :class:`Row` per article that has a verdict for ``topic``."""
    items = [a for a in articles if verdict(labels.get(a["id"], {}), topic.spec.name) is not None]
    tags = tagger.tag_batch([(a.get("title") or "", a.get("text") or "") for a in items])
    gated = [needs_vector(_plain(topic), a.get("title") or "", a.get("text") or "") for a in items]
    vectors = np.zeros((len(items), embedder_dim(embedder)), dtype=np.float32)
    todo = [i for i, g in enumerate(gated) if g]
    if todo:
        words = getattr(embedder, "max_tokens", LEAD_TOKENS)
        vectors[todo] = embedder.embed(
            [lead(items[i].get("title") or "", items[i].get("text") or "", words) for i in todo]
        )
    rows = []
    for i, (a, t) in enumerate(zip(items, tags, strict=True)):
        sig = keyword_signal(topic, a.get("title") or "", a.get("text") or "", t.actors)
        rows.append(
            Row(
                id=a["id"],
                label=bool(verdict(labels[a["id"]], topic.spec.name)),
                lang=a.get("language") or t.lang or "?",
                gated=gated[i],
                keyword_yes=sig.score >= topic.spec.threshold and sig.score > 0,
                signal=sig,
                actors=t.actors,
                body_chars=len(a.get("text") or ""),
                vector=vectors[i],
                caption=caption(a),
            )
        )
    return rows


def _plain(topic: CompiledTopic) -> CompiledTopic:
    """``needs_vector`` asks for a learned layer; fitting is how a topic gets one."""
    from dataclasses import replace

    return topic if topic.learned is not None else replace(topic, learned=_MARKER)


_MARKER: Any = object()


def embedder_dim(embedder: Any) -> int:
    return int(getattr(embedder, "dim", 384))


def caption(article: Mapping[str, Any], words: int = 12) -> str:
    text = (article.get("title") or "").strip() or (article.get("text") or "").strip()
    head = text.split()
    return " ".join(head[:words]) + (" …" if len(head) > words else "")


def features(rows: Sequence[Row], protos: Prototypes, k: int, self_index: bool) -> np.ndarray:
    """Feature matrix; ``self_index``: row i is prototype i (leave it out)."""
    return np.array(
        [
            feature_vector(
                r.signal, r.vector, r.actors, r.body_chars, protos, k, skip=i if self_index else -1
            )
            for i, r in enumerate(rows)
        ]
    )


def prototypes_of(rows: Sequence[Row]) -> Prototypes:
    return Prototypes(
        vectors=np.array([r.vector for r in rows], dtype=np.float32),
        labels=np.array([r.label for r in rows], dtype=bool),
        ids=tuple(r.id for r in rows),
        captions=tuple(r.caption for r in rows),
    )


@dataclass(frozen=True)
class Fitted:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    protos: Prototypes

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


def fit_rows(rows: Sequence[Row], k: int = K, c: float = C) -> Fitted:
    """A logistic regression on the gated rows; every gated row is a prototype."""
    from sklearn.linear_model import LogisticRegression

    train = [r for r in rows if r.gated]
    if len({r.label for r in train}) < 2:
        raise ValueError("fitting needs gated examples of both classes")
    protos = prototypes_of(train)
    x = features(train, protos, k, self_index=True)
    y = np.array([r.label for r in train])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    model = LogisticRegression(C=c, max_iter=1000)
    model.fit((x - mean) / scale, y)
    return Fitted(mean, scale, model.coef_[0].copy(), float(model.intercept_[0]), protos)


def predict(fitted: Fitted, rows: Sequence[Row], k: int = K) -> np.ndarray:
    """Probabilities for ``rows`` (not prototypes of ``fitted``); ungated rows get their
    keyword verdict as 0 or 1."""
    out = np.array([1.0 if r.keyword_yes else 0.0 for r in rows])
    gated = [i for i, r in enumerate(rows) if r.gated]
    if gated:
        x = features([rows[i] for i in gated], fitted.protos, k, self_index=False)
        out[gated] = fitted.probabilities(x)
    return out


CV_SEED = "newsmon-cv-v1"


def folds_of(ids: Sequence[str], n: int, seed: str = CV_SEED) -> list[int]:
    """A fold number per id from a seeded hash: the same ids, the same folds, every run."""
    import hashlib

    return [int(hashlib.sha256(f"{seed}:{i}".encode()).hexdigest(), 16) % n for i in ids]


def cross_val_probabilities(
    rows: Sequence[Row], n_folds: int = 5, k: int = K, c: float = C, seed: str = CV_SEED
) -> np.ndarray:
    folds = folds_of([r.id for r in rows], n_folds, seed)
    probs = np.zeros(len(rows))
    for f in range(n_folds):
        train = [r for r, g in zip(rows, folds, strict=True) if g != f]
        held = [i for i, g in enumerate(folds) if g == f]
        fitted = fit_rows(train, k, c)
        probs[held] = predict(fitted, [rows[i] for i in held], k)
    return probs


#: The decision thresholds tried, for the topic layer and the salience model alike.
THRESHOLD_GRID = np.round(np.arange(0.2, 0.801, 0.01), 2)


def best_threshold(probs: np.ndarray, labels: np.ndarray) -> float:
    """The threshold in [0.2, 0.8] at the broadest best F1 (:func:`broad_optimum`)."""
    return broad_optimum(THRESHOLD_GRID, f1_curve(probs, labels))


def f1_curve(probs: np.ndarray, labels: np.ndarray) -> list[float]:
    """F1 at each threshold of :data:`THRESHOLD_GRID`."""
    scores = []
    for t in THRESHOLD_GRID:
        pred = probs >= t
        tp = int((pred & labels).sum())
        fp = int((pred & ~labels).sum())
        fn = int((~pred & labels).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return scores


#: Cross-validations (each with its own folds) whose F1 curves are averaged to pick the
#: topic's threshold. Over one, the curve is flat from ~0.25 to ~0.65 with bumps one article
#: high, and the pick moved 0.45 → 0.70 → 0.47 → 0.42 → 0.26 from one refit to the next.
CV_REPEATS = 10


def repeated_cv_threshold(
    rows: Sequence[Row], repeats: int = CV_REPEATS, k: int = K, c: float = C
) -> float:
    """:func:`broad_optimum` of the F1 curve averaged over ``repeats`` 5-fold
    cross-validations of ``rows`` with different folds (the first with the usual ones)."""
    labels = np.array([r.label for r in rows])
    curves = [
        f1_curve(cross_val_probabilities(rows, 5, k, c, CV_SEED if i == 0 else f"{CV_SEED}-{i}"),
                 labels)
        for i in range(repeats)
    ]
    return broad_optimum(THRESHOLD_GRID, list(np.mean(curves, axis=0)))


#: Grid steps each side over which F1 is averaged before the best threshold is taken.
SMOOTH = 5


def broad_optimum(grid: Sequence[float] | np.ndarray, scores: Sequence[float], window: int = SMOOTH
                  ) -> float:
    """The grid value whose F1, averaged over ``window`` steps each side, is best (the middle
    of the best plateau). F1 over thresholds is flat with spikes one article wide: the plain
    maximum jumped between 0.36 and 0.48 from one refit to the next with the same F1 ±0.0001
    either side; the averaged one picks the middle of the broad optimum."""
    f = np.asarray(scores, dtype=float)
    if len(f) <= 2 * window:
        window = 0
    # only where the whole window fits: a cut window at the grid's ends would weigh a spike
    # there more than one inside
    inner = range(window, len(f) - window)
    smooth = [f[i - window : i + window + 1].mean() for i in inner]
    best = max(smooth)
    plateau = [float(grid[i]) for i, s in zip(inner, smooth, strict=True) if s >= best - 1e-9]
    return plateau[len(plateau) // 2]


def learn(
    topic: CompiledTopic,
    rows: Sequence[Row],
    out: Path,
    *,
    k: int = K,
    c: float = C,
    source: str = "",
    lead_tokens: int = LEAD_TOKENS,
) -> dict[str, Any]:
    """Fit on ``rows``, pick the threshold by repeated 5-fold cross-validation on the same
    rows (:func:`repeated_cv_threshold`), write ``out`` (``<name>.learned.json``) and its
    prototypes; returns what was written."""
    gated = [r for r in rows if r.gated]
    threshold = repeated_cv_threshold(gated, CV_REPEATS, k, c)
    fitted = fit_rows(rows, k, c)
    info = {
        "topic": topic.spec.name,
        "on": source,
        "articles": len(rows),
        "gated": len(gated),
        "positives": int(sum(r.label for r in rows)),
        "k": k,
        "C": c,
        "lead_tokens": lead_tokens,
        "cv_repeats": CV_REPEATS,
        "date": datetime.now(UTC).date().isoformat(),
    }
    save_learned(
        out,
        mean=fitted.mean,
        scale=fitted.scale,
        weights=fitted.weights,
        bias=fitted.bias,
        threshold=threshold,
        k=k,
        prototypes=fitted.protos,
        fitted=info,
    )
    return {
        **info,
        "threshold": threshold,
        "weights": dict(zip(FEATURES, (round(float(w), 3) for w in fitted.weights), strict=True)),
    }
