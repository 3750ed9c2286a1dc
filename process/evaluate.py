"""Score tagger output against the labelled dev set (see shared corpus README).

- Topic ``peace_talks``: precision/recall/F1 over items whose two annotators agree.
- Principal actors (salience >= 0.5): recall = share of ``actors_core`` among them, precision =
  share of them that are in ``actors_any``; micro-averaged over items.
- Core recall among all actors: share of ``actors_core`` found among all reported actors.
Names are compared after canonicalisation through the gazetteer, folded to lower case.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from newsmon.schema import Tags

from .normalize import fold

TOPIC = "peace_talks"
PRINCIPAL = 0.5


class TaggerLike(Protocol):
    def tag_batch(self, items: Sequence[tuple[str, str]], batch_size: int = 64) -> list[Tags]: ...


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def evaluate(
    labels: Sequence[Mapping[str, Any]],
    tags: Sequence[Tags],
    canonical: Callable[[str], str] = lambda s: s,
) -> dict[str, Any]:
    """Numbers plus per-item failures for ``tags[i]`` against ``labels[i]``."""
    def canon(name: str) -> str:
        return fold(canonical(name))

    keys = ("t_tp", "t_fp", "t_fn", "a_tp", "a_fn", "p_ok", "p_bad", "all_found")
    counts = dict.fromkeys(keys, 0)
    core_total, failures = 0, []
    for label, tag in zip(labels, tags, strict=True):
        failure = _item(label, tag, canon, counts)
        core_total += len(label.get("actors_core", ()))
        if failure:
            failures.append(failure)
    return {
        "items": len(labels),
        "topic": prf(counts["t_tp"], counts["t_fp"], counts["t_fn"]),
        "principal_actors": _actor_prf(counts),
        "core_recall_all": round(counts["all_found"] / core_total, 4) if core_total else 1.0,
        "failures": failures,
    }


def _actor_prf(counts: Mapping[str, int]) -> dict[str, float]:
    """Recall over ``actors_core``; precision over our principals (those in ``actors_any``)."""
    recall = prf(counts["a_tp"], 0, counts["a_fn"])["recall"]
    precision = prf(counts["p_ok"], counts["p_bad"], 0)["precision"]
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": round(f1, 4)}


def _item(
    label: Mapping[str, Any], tag: Tags, canon: Callable[[str], str], counts: dict[str, int]
) -> dict[str, Any] | None:
    failure: dict[str, Any] = {}
    got_topic = any(t.name == TOPIC for t in tag.topics)
    want_topic = verdict(label, TOPIC)
    if want_topic is not None:
        want = want_topic
        counts["t_tp"] += int(got_topic and want)
        counts["t_fp"] += int(got_topic and not want)
        counts["t_fn"] += int(want and not got_topic)
        if got_topic != want:
            failure["topic"] = {"expected": want, "got": got_topic}
    core = {canon(n) for n in label.get("actors_core", ())}
    allowed = {canon(n) for n in label.get("actors_any", ())}
    principal = {canon(a.name) for a in tag.actors if a.salience >= PRINCIPAL}
    everyone = {canon(a.name) for a in tag.actors}
    counts["a_tp"] += len(core & principal)
    counts["a_fn"] += len(core - principal)
    counts["p_ok"] += len(principal & allowed)
    counts["p_bad"] += len(principal - allowed)
    counts["all_found"] += len(core & everyone)
    if core - principal:
        failure["core_not_principal"] = sorted(core - principal)
    if core - everyone:
        failure["core_missing"] = sorted(core - everyone)
    if principal - allowed:
        failure["principal_not_in_any"] = sorted(principal - allowed)
    return {"id": label.get("id"), **failure} if failure else None


def verdict(label: Mapping[str, Any], topic: str) -> bool | None:
    """The label's verdict on ``topic``: an adjudicated corpus (``<topic>_a`` present) has one
    for every item; a dev-style pair of annotators (``<topic>`` and ``<topic>_b``) only where
    they agree."""
    if topic not in label:
        return None
    if f"{topic}_a" in label or f"{topic}_b" not in label:
        return bool(label[topic])
    return bool(label[topic]) if label[topic] == label[f"{topic}_b"] else None


SPLIT_SEED = "newsmon-corpus-v1"
SPLITS = (("train", 60), ("dev", 80), ("test", 100))


def split_of(url: str, seed: str = SPLIT_SEED) -> str:
    """``train`` (60 %), ``dev`` (20 %) or ``test`` (20 %), fixed by a seeded hash of the URL:
    an item never changes split, however the corpus grows."""
    bucket = int(hashlib.sha256(f"{seed}:{url}".encode()).hexdigest()[:8], 16) % 100
    return next(name for name, upper in SPLITS if bucket < upper)


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluate_file(
    articles_path: Path | str,
    labels_path: Path | str,
    tagger: TaggerLike,
    articles: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Tag every article (or only ``articles``, read from that file) and score it against the
    label with the same id."""
    if articles is None:
        articles = read_jsonl(articles_path)
    labels = {row["id"]: row for row in read_jsonl(labels_path)}
    paired = [(a, labels[a["id"]]) for a in articles if a["id"] in labels]
    tags = tagger.tag_batch([(a.get("title", ""), a.get("text", "")) for a, _ in paired])
    gaz = getattr(tagger, "gazetteer", None)
    canonical = gaz.canonical if gaz is not None else (lambda s: s)
    return evaluate([lab for _, lab in paired], tags, canonical)


def main() -> None:  # pragma: no cover - manual use
    import sys

    from .tagger import Tagger

    here = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "dev"
    articles = sys.argv[1] if len(sys.argv) > 1 else here / "articles.jsonl"
    labels_file = sys.argv[2] if len(sys.argv) > 2 else here / "labels.jsonl"
    result = evaluate_file(articles, labels_file, Tagger.load())
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":  # pragma: no cover
    main()
