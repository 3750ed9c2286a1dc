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
    p.add_argument(
        "--split",
        choices=("train", "dev", "test", "all"),
        default="all",
        help="only the items of this split (a seeded hash of the URL; see docs/quality.md)",
    )
    p.add_argument("--json", action="store_true", help="the whole report as JSON")
    p.set_defaults(handler=_cmd_eval)

    p = sub.add_parser(
        "learn",
        help="fit a topic's learned layer on labelled data (needs scikit-learn: newsmon[learn])",
    )
    p.add_argument("dataset", help="articles JSONL (id, title, text, url, language, ...)")
    p.add_argument("--labels", default=None, help="labels JSONL (default: beside the dataset)")
    p.add_argument("--topic", default="peace_talks", help="the topic to fit (default: %(default)s)")
    p.add_argument("--split", choices=("train", "dev", "test", "all"), default="train",
                   help="fit on this split only (default: %(default)s)")
    p.add_argument("--out", default=None,
                   help="the .learned.json to write (default: the topic YAML's learned: file, "
                   "else <topic>.learned.json beside it)")
    p.add_argument("--lead-tokens", type=int, default=64,  # process.semantic.LEAD_TOKENS
                   help="tokens of title + lead embedded per article (default: %(default)s); "
                   "the service embeds as many: cost grows linearly with it")
    p.set_defaults(handler=_cmd_learn)


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from process.evaluate import evaluate_file, read_jsonl
    from process.tagger import Tagger

    dataset, labels = _paths(args)
    tagger = Tagger.load()
    articles = _split(read_jsonl(dataset), args.split)
    report = evaluate_file(dataset, labels, tagger, articles=articles)
    by_lang = _per_language(labels, tagger, articles)
    if args.json:
        print(json.dumps({**report, "by_language": by_lang}, ensure_ascii=False, indent=1))
        return 0
    print(_table(report, by_lang))
    return 0


def _paths(args: argparse.Namespace) -> tuple[Path, Path]:
    dataset = Path(args.dataset)
    labels = Path(args.labels) if args.labels else dataset.with_name("labels.jsonl")
    for path in (dataset, labels):
        if not path.is_file():
            raise ConfigError(f"no such file: {path}")
    return dataset, labels


def _split(articles: list[dict[str, Any]], split: str) -> list[dict[str, Any]]:
    from process.evaluate import split_of

    if split == "all":
        return articles
    return [a for a in articles if split_of(a.get("url") or a["id"]) == split]


def _cmd_learn(args: argparse.Namespace, settings: Settings) -> int:
    from process.evaluate import read_jsonl
    from process.fit import learn, prepare
    from process.salience import SALIENCE_FILE, load_salience
    from process.semantic import Embedder
    from process.tagger import Tagger
    from process.topics import TOPICS_DIR

    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise ConfigError("newsmon learn needs scikit-learn: pip install 'newsmon[learn]'") from exc
    dataset, labels = _paths(args)
    # The actors as the service will see them (learned salience); topics from their keyword
    # rules (learned=False): the layer is fitted on what the rules see. The topics' current
    # learned layers are not read, so a layer whose features no longer match can be refitted.
    tagger = Tagger.load(learned=False)
    if SALIENCE_FILE.exists():
        tagger.salience_model = load_salience()
    topic = next((t for t in tagger.topics if t.spec.name == args.topic), None)
    if topic is None:
        names = ", ".join(t.spec.name for t in tagger.topics)
        raise ConfigError(f"no topic {args.topic!r} (topics: {names})")
    out = Path(args.out) if args.out else TOPICS_DIR / (topic.spec.learned or
                                                         f"{topic.spec.name}.learned.json")
    articles = _split(read_jsonl(dataset), args.split)
    label_rows = {row["id"]: row for row in read_jsonl(labels)}
    embedder = Embedder(threads=None, max_tokens=args.lead_tokens)
    rows = prepare(topic, articles, label_rows, tagger, embedder)
    info = learn(topic, rows, out, source=f"{dataset.name} split={args.split}",
                 lead_tokens=args.lead_tokens)
    print(json.dumps({**info, "written": str(out)}, ensure_ascii=False, indent=1))
    return 0


def _per_language(
    labels: Path, tagger: Any, articles: list[dict[str, Any]]
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
