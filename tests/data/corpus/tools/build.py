"""Build the corpus files from the collectors' staging files.

    python3 tests/data/corpus/tools/build.py        # writes articles.jsonl and provenance.jsonl

Each item's id is ``c`` + the first 10 hex digits of the SHA-256 of its URL, so an item keeps
its id when staging files are re-ordered or extended; the files are sorted by id (an order
that mixes collections, languages and classes, as the labelling passes should see them).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))

from staging import problems, records  # noqa: E402


def item_id(url: str) -> str:
    return "c" + hashlib.sha256(url.encode()).hexdigest()[:10]


def main() -> int:
    recs = [r for p in sorted((HERE / "staging").glob("*.txt")) for r in records(str(p))]
    bad = [f"{r['_where']}: {p}" for r in recs for p in problems(r)]
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 1
    rows = sorted(((item_id(r["url"]), r) for r in recs), key=lambda x: x[0])
    if len({i for i, _ in rows}) != len(rows):
        print("duplicate URL (same id)", file=sys.stderr)
        return 1
    with (
        open(HERE / "articles.jsonl", "w", encoding="utf-8") as art,
        open(HERE / "provenance.jsonl", "w", encoding="utf-8") as prov,
    ):
        for i, r in rows:
            art.write(
                json.dumps(
                    {
                        "id": i,
                        "title": r.get("title", ""),
                        "text": r["text"],
                        "source": r["publisher"],
                        "published": r["published"],
                        "url": r["url"],
                        "language": r["language"],
                        "text_kind": r["text_kind"],
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            prov.write(
                json.dumps(
                    {
                        "id": i,
                        "url": r["url"],
                        "publisher": r["publisher"],
                        "published": r["published"],
                        "date_basis": r.get("date_basis", ""),
                        "found_by": r.get("query", ""),
                        "collected_as": r["collected_as"],
                        "event": r.get("event", ""),
                        "staging": r["_where"].split("/")[-1],
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    print(f"{len(rows)} items", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
