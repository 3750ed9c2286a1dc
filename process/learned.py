"""A topic's optional learned layer: a logistic regression over the keyword evidence, the
article's similarity to labelled examples, and its actors.

The layer is two data files next to the topic's YAML, named by its ``learned:`` key:

- ``<name>.learned.json``: feature names, their standardisation, weights, bias, decision
  threshold, the number of neighbours ``k``, what it was fitted on (``fitted``), and the name of
- ``<name>.prototypes.npz``: the labelled examples' embeddings (float16, unit length), their
  labels, ids and captions.

Both are written by ``newsmon learn`` (:mod:`process.fit`) from the corpus's train split. A
bad or missing file is a :class:`~process.topics.TopicError` that names it. Scoring is pure
numpy: no scikit-learn at run time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from newsmon.schema import Actor

if TYPE_CHECKING:
    from .topics import Signal

#: The features, in the order of the weights. Adding one means refitting (the file names them).
FEATURES = (
    "kw_score",  # the keyword score (0..1)
    "kw_terms",  # saturated topic-term weight, without context
    "kw_title",  # a topic term in the headline
    "context",  # context share: conflict terms and actors against other conflicts' terms
    "exclusion",  # log(1 + other conflicts' weight)
    "knn",  # similarity-weighted share of topic examples among the k nearest
    "sim_pos",  # cosine to the nearest topic example
    "sim_neg",  # cosine to the nearest non-topic example
    "actors",  # principal actors of the conflict (0, 1/3, 2/3, 1)
    "short",  # a summary (< 800 characters)
    "distract",  # log(1 + other negotiations' weight): EU accession, prisoner exchange ...
)
SHORT_TEXT = 800


class LearnedError(ValueError):
    """A learned-layer file that cannot be used (the message names the file)."""


@dataclass(frozen=True)
class Prototypes:
    vectors: np.ndarray  # (n, 384) float32, unit rows
    labels: np.ndarray  # (n,) bool
    ids: tuple[str, ...]
    captions: tuple[str, ...]

    def neighbours(self, vec: np.ndarray, k: int, skip: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """Indices and cosines of the ``k`` nearest examples (``skip``: one index left out)."""
        sims = self.vectors @ vec
        if skip >= 0:
            sims = sims.copy()
            sims[skip] = -2.0
        k = min(k, len(sims) - (1 if skip >= 0 else 0))
        top = np.argpartition(-sims, k - 1)[:k] if k > 0 else np.array([], dtype=int)
        top = top[np.argsort(-sims[top])]
        return top, sims[top]


@dataclass(frozen=True)
class LearnedModel:
    path: Path
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float
    k: int
    prototypes: Prototypes
    fitted: dict[str, Any]

    def probability(self, x: np.ndarray) -> float:
        z = float(((x - self.mean) / self.scale) @ self.weights + self.bias)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def explain(self, vec: np.ndarray, n: int = 2) -> tuple[str, ...]:
        """The nearest labelled examples of the topic, as evidence strings."""
        idx, sims = self.prototypes.neighbours(vec, self.k)
        out = [
            f"like {self.prototypes.ids[i]} ({s:.2f}): {self.prototypes.captions[i]}"
            for i, s in zip(idx.tolist(), sims.tolist(), strict=True)
            if self.prototypes.labels[i]
        ]
        return tuple(out[:n])


def feature_vector(
    signal: Signal,
    vec: np.ndarray,
    actors: Sequence[Actor],
    body_chars: int,
    prototypes: Prototypes,
    k: int,
    skip: int = -1,
) -> np.ndarray:
    """The features of :data:`FEATURES` for one article (``skip``: leave one prototype out,
    for fitting on the prototypes themselves)."""
    idx, sims = prototypes.neighbours(vec, k, skip)
    labels = prototypes.labels[idx]
    weights = np.clip(sims, 0.0, None)
    knn = float((weights * labels).sum() / weights.sum()) if weights.sum() > 0 else 0.0
    all_sims = prototypes.vectors @ vec
    if skip >= 0:
        all_sims = all_sims.copy()
        all_sims[skip] = -2.0
    pos = all_sims[prototypes.labels]
    neg = all_sims[~prototypes.labels]
    return np.array(
        [
            signal.score,
            signal.terms,
            1.0 if signal.title else 0.0,
            signal.share,
            math.log1p(signal.against),
            knn,
            float(pos.max()) if pos.size else 0.0,
            float(neg.max()) if neg.size else 0.0,
            min(signal.principal_conflict_actors, 3) / 3,
            1.0 if body_chars < SHORT_TEXT else 0.0,
            math.log1p(signal.distract),
        ],
        dtype=np.float64,
    )


def load_learned(path: Path) -> LearnedModel:
    """Read ``path`` (JSON) and the prototypes file it names (beside it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LearnedError(f"{path}: learned-layer file not found") from exc
    except (OSError, ValueError) as exc:
        raise LearnedError(f"{path}: not a readable JSON file: {exc}") from exc
    try:
        features = tuple(str(f) for f in data["features"])
        n = len(features)
        mean = _vector(data["mean"], n, "mean")
        scale = _vector(data["scale"], n, "scale")
        weights = _vector(data["weights"], n, "weights")
        bias, threshold, k = float(data["bias"]), float(data["threshold"]), int(data["k"])
        proto_name = str(data["prototypes"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LearnedError(f"{path}: {exc}") from exc
    if features != FEATURES:
        raise LearnedError(
            f"{path}: features {list(features)} do not match this version's {list(FEATURES)}:"
            " refit with `newsmon learn`"
        )
    if not (0.0 < threshold < 1.0) or k < 1 or np.any(scale <= 0):
        raise LearnedError(f"{path}: threshold must be in (0, 1), k >= 1, scale > 0")
    if Path(proto_name).name != proto_name:
        raise LearnedError(f"{path}: prototypes must name a file beside it, got {proto_name!r}")
    protos = _load_prototypes(path.parent / proto_name)
    return LearnedModel(
        path,
        features,
        mean,
        scale,
        weights,
        bias,
        threshold,
        k,
        protos,
        dict(data.get("fitted") or {}),
    )


def _vector(value: Any, n: int, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.zeros(0)
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be {n} finite numbers")
    return arr


def _load_prototypes(path: Path) -> Prototypes:
    try:
        with np.load(path, allow_pickle=False) as z:
            vectors = np.asarray(z["vectors"], dtype=np.float32)
            labels = np.asarray(z["labels"], dtype=bool)
            ids = tuple(str(s) for s in z["ids"])
            captions = tuple(str(s) for s in z["captions"])
    except FileNotFoundError as exc:
        raise LearnedError(f"{path}: prototypes file not found") from exc
    except (OSError, KeyError, ValueError) as exc:
        raise LearnedError(
            f"{path}: not a prototypes file (vectors, labels, ids, captions): {exc}"
        ) from exc
    n = len(labels)
    if vectors.ndim != 2 or vectors.shape[0] != n or len(ids) != n or len(captions) != n or n < 2:
        raise LearnedError(f"{path}: vectors, labels, ids and captions must have one row each")
    if not np.all(np.isfinite(vectors)):
        raise LearnedError(f"{path}: vectors must be finite")
    return Prototypes(vectors, labels, ids, captions)


def save_learned(
    path: Path,
    *,
    mean: np.ndarray,
    scale: np.ndarray,
    weights: np.ndarray,
    bias: float,
    threshold: float,
    k: int,
    prototypes: Prototypes,
    fitted: dict[str, Any],
) -> None:
    """Write the JSON and its prototypes file (``<stem>.prototypes.npz``) beside it."""
    proto_name = path.name.replace(".learned.json", "") + ".prototypes.npz"
    np.savez_compressed(
        path.parent / proto_name,
        vectors=prototypes.vectors.astype(np.float16),
        labels=prototypes.labels,
        ids=np.array(prototypes.ids),
        captions=np.array(prototypes.captions),
    )
    data = {
        "features": list(FEATURES),
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "weights": [round(float(v), 6) for v in weights],
        "bias": round(float(bias), 6),
        "threshold": round(float(threshold), 4),
        "k": int(k),
        "prototypes": proto_name,
        "fitted": fitted,
    }
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
