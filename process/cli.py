"""``newsmon eval``: tagging quality on a labelled JSON Lines dataset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from newsmon.config import Settings
from newsmon.errors import ConfigError


def register(sub: Any) -> None:
    p = sub.add_parser("eval", help="precision / recall / F1 of topics and actors on labelled data")
    p.add_argument("dataset", help="articles JSONL (id, title, text, ..., language)")
    p.add_argument(
        "--labels",
        default=None,
        help="labels JSONL (default: labels.jsonl beside the dataset)",
    )
    p.add_argument("--json", action="store_true", help="the whole report as JSON")
    p.set_defaults(handler=_cmd_eval)


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from process.evaluate import evaluate_file, read_jsonl
    from process.tagger import Tagger

    dataset = Path(args.dataset)
    labels = Path(args.labels) if args.labels else dataset.with_name("labels.jsonl")
    for path in (dataset, labels):
        if not path.is_file():
            raise ConfigError(f"no such file: {path}")
    tagger = Tagger.load()
    report = evaluate_file(dataset, labels, tagger)
    by_lang = _per_language(dataset, labels, tagger, read_jsonl(dataset))
    if args.json:
        print(json.dumps({**report, "by_language": by_lang}, ensure_ascii=False, indent=1))
        return 0
    print(_table(report, by_lang))
    return 0


def _per_language(
    dataset: Path, labels: Path, tagger: Any, articles: list[dict[str, Any]]
) -> dict[str, Any]:
    from process.evaluate import evaluate, read_jsonl

    label_rows = {row["id"]: row for row in read_jsonl(labels)}
    langs = sorted({a.get("language") or "?" for a in articles})
    if len(langs) < 2:
        return {}
    gaz = getattr(tagger, "gazetteer", None)
    canonical = gaz.canonical if gaz is not None else (lambda s: s)
    out: dict[str, Any] = {}
    for lang in langs:
        items = [
            a for a in articles if (a.get("language") or "?") == lang and a["id"] in label_rows
        ]
        tags = tagger.tag_batch([(a.get("title", ""), a.get("text", "")) for a in items])
        out[lang] = evaluate([label_rows[a["id"]] for a in items], tags, canonical)
        out[lang].pop("failures", None)
    return out


def _table(report: dict[str, Any], by_lang: dict[str, Any]) -> str:
    def row(name: str, r: dict[str, Any]) -> str:
        t, a = r["topic"], r["principal_actors"]
        return (
            f"{name:<8} {r['items']:>5}  {t['precision']:.3f} {t['recall']:.3f} {t['f1']:.3f}"
            f"   {a['precision']:.3f} {a['recall']:.3f} {a['f1']:.3f}   {r['core_recall_all']:.3f}"
        )

    lines = [
        "                  peace_talks            principal actors    core recall",
        "lang     items  P     R     F1      P     R     F1      (all actors)",
        row("all", report),
    ]
    lines += [row(lang, r) for lang, r in by_lang.items()]
    failures = report.get("failures", [])
    if failures:
        lines.append(f"\n{len(failures)} items with differences (--json for details)")
    return "\n".join(lines)
