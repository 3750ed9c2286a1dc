"""Merge the two labelling passes, measure their agreement, and apply the adjudication.

    .venv/bin/python tests/data/corpus/tools/adjudicate.py disagreements A.jsonl B.jsonl > d.jsonl
    .venv/bin/python tests/data/corpus/tools/adjudicate.py merge A.jsonl B.jsonl ADJ.jsonl

``disagreements`` lists the items whose topic verdicts differ (with both records), for a third
reading by the guideline. ``merge`` writes ``labels.jsonl`` and ``agreement.json`` beside the
articles: every item keeps both passes (``*_a``, ``*_b``); ``peace_talks``, ``class`` and
``other_peace_process`` are the verdict (the passes' where they agree, the third reading's
where they differ, with its reason in ``adjudication``); ``actors_core`` are the actors both
passes named and ``actors_any`` those either named, canonicalised through the gazetteer and
lower-cased (as in the dev set).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

TOPIC_CLASSES = {"talks", "talks_pre2022", "talks_opinion"}


def read(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def by_id(rows: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {r["id"]: r for r in rows}


def canonicalizer() -> Callable[[str], str]:
    from process.gazetteer import load_gazetteer
    from process.normalize import fold

    gaz = load_gazetteer()
    return lambda name: fold(gaz.canonical(name.strip()))


def kappa(a: list[bool], b: list[bool]) -> float:
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def actor_agreement(pairs: list[tuple[set[str], set[str]]]) -> dict[str, float]:
    """Micro-averaged F1 of pass B's actors against pass A's (symmetric)."""
    tp = sum(len(a & b) for a, b in pairs)
    fa = sum(len(a - b) for a, b in pairs)
    fb = sum(len(b - a) for a, b in pairs)
    return {
        "f1": round(2 * tp / (2 * tp + fa + fb), 4) if tp else 0.0,
        "shared": tp,
        "only_a": fa,
        "only_b": fb,
    }


def main(argv: list[str]) -> int:
    mode = argv[0]
    a_rows, b_rows = read(argv[1]), read(argv[2])
    a, b = by_id(a_rows), by_id(b_rows)
    articles = by_id(read(HERE / "articles.jsonl"))
    if set(a) != set(b) or set(a) != set(articles):
        print("the passes and the articles must have the same ids", file=sys.stderr)
        return 1
    if mode == "disagreements":
        for item_id, art in articles.items():
            if a[item_id]["peace_talks"] != b[item_id]["peace_talks"]:
                print(
                    json.dumps({"item": art, "a": a[item_id], "b": b[item_id]}, ensure_ascii=False)
                )
        return 0
    adj = by_id(read(argv[3]))
    canon = canonicalizer()
    labels, pairs = [], []
    langs: dict[str, list[tuple[bool, bool]]] = {}
    for item_id, art in articles.items():
        ra, rb = a[item_id], b[item_id]
        sa = {canon(n) for n in ra["actors"]}
        sb = {canon(n) for n in rb["actors"]}
        pairs.append((sa, sb))
        langs.setdefault(art["language"], []).append((ra["peace_talks"], rb["peace_talks"]))
        agree = ra["peace_talks"] == rb["peace_talks"]
        if not agree and item_id not in adj:
            print(f"{item_id}: the passes differ and there is no adjudication", file=sys.stderr)
            return 1
        third = adj.get(item_id, {}) if not agree else {}
        verdict = bool(third.get("peace_talks", ra["peace_talks"]))
        cls = third.get("class") or (
            ra["class"]
            if ra["class"] == rb["class"] or (ra["class"] in TOPIC_CLASSES) == verdict
            else rb["class"]
        )
        if (cls in TOPIC_CLASSES) != verdict:
            cls = ra["class"] if (ra["class"] in TOPIC_CLASSES) == verdict else rb["class"]
        other = third.get(
            "other_peace_process",
            ra["other_peace_process"] and rb["other_peace_process"]
            if ra["other_peace_process"] != rb["other_peace_process"]
            else ra["other_peace_process"],
        )
        labels.append(
            {
                "id": item_id,
                "peace_talks": verdict,
                "peace_talks_a": bool(ra["peace_talks"]),
                "peace_talks_b": bool(rb["peace_talks"]),
                "class": cls,
                "class_a": ra["class"],
                "class_b": rb["class"],
                "other_peace_process": bool(other),
                "actors_a": ra["actors"],
                "actors_b": rb["actors"],
                "actors_core": sorted(sa & sb),
                "actors_any": sorted(sa | sb),
                "uncertain": bool(ra.get("uncertain") or rb.get("uncertain")),
                "note_a": ra.get("note", ""),
                "note_b": rb.get("note", ""),
                **({"adjudication": third.get("reason", "")} if third else {}),
            }
        )
    with open(HERE / "labels.jsonl", "w", encoding="utf-8") as f:
        for row in labels:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    ta = [a[i]["peace_talks"] for i in articles]
    tb = [b[i]["peace_talks"] for i in articles]
    report = {
        "items": len(articles),
        "topic_kappa": round(kappa(ta, tb), 4),
        "topic_agreement": round(sum(x == y for x, y in zip(ta, tb, strict=True)) / len(ta), 4),
        "topic_kappa_by_language": {
            lang: round(kappa([x for x, _ in v], [y for _, y in v]), 4)
            for lang, v in sorted(langs.items())
        },
        "class_agreement": round(
            sum(a[i]["class"] == b[i]["class"] for i in articles) / len(articles), 4
        ),
        "actors": actor_agreement(pairs),
        "disagreements_adjudicated": sum(1 for r in labels if "adjudication" in r),
        "adjudicated_to_yes": sum(1 for r in labels if "adjudication" in r and r["peace_talks"]),
        "verdicts": dict(Counter(r["class"] for r in labels)),
        "peace_talks_yes": sum(r["peace_talks"] for r in labels),
    }
    (HERE / "agreement.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
