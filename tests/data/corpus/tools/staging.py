"""Read the collectors' staging files (a plain-text record format that needs no escaping) and
check or convert them to JSON Lines.

    python3 tests/data/corpus/tools/staging.py check FILE...     # counts and problems
    python3 tests/data/corpus/tools/staging.py jsonl FILE... > out.jsonl

A record:

    === ITEM
    url: https://...
    publisher: NDTV
    published: 2025-05-16
    date_basis: url
    language: en
    text_kind: lead
    collected_as: talks
    event: E25_istanbul1
    query: the search query that found it
    title: the headline as found
    text:
    the text as found, any number of lines
    === END
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter

FIELDS = (
    "url",
    "publisher",
    "published",
    "date_basis",
    "language",
    "text_kind",
    "collected_as",
    "event",
    "query",
    "title",
)
REQUIRED = ("url", "publisher", "published", "language", "text_kind", "collected_as", "text")
KINDS = {"lead", "summary", "full"}
DATE = re.compile(r"^(19|20)\d\d(-\d\d(-\d\d)?)?$")


def records(path: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    cur: dict[str, str] | None = None
    text: list[str] | None = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.strip() == "=== ITEM":
                cur, text = {"_where": f"{path}:{n}"}, None
            elif line.strip() == "=== END":
                if cur is not None:
                    cur["text"] = "\n".join(text or []).strip()
                    out.append(cur)
                cur, text = None, None
            elif cur is None:
                continue
            elif text is not None:
                text.append(line)
            elif line.strip() == "text:":
                text = []
            elif ":" in line:
                key, _, value = line.partition(":")
                cur[key.strip()] = value.strip()
    return out


def problems(rec: dict[str, str]) -> list[str]:
    bad = [f"missing {k}" for k in REQUIRED if not rec.get(k)]
    if rec.get("text_kind") and rec["text_kind"] not in KINDS:
        bad.append(f"text_kind {rec['text_kind']!r} not in {sorted(KINDS)}")
    if rec.get("published") and not DATE.match(rec["published"]):
        bad.append(f"published {rec['published']!r} is not YYYY[-MM[-DD]]")
    if rec.get("url") and not rec["url"].startswith(("http://", "https://")):
        bad.append("url is not http(s)")
    return bad


def main(argv: list[str]) -> int:
    mode, paths = argv[0], argv[1:]
    recs = [r for p in paths for r in records(p)]
    if mode == "check":
        urls = Counter(r.get("url") for r in recs)
        errors = 0
        for r in recs:
            for p in problems(r):
                errors += 1
                print(f"{r['_where']}: {p}")
        for u, c in urls.items():
            if c > 1:
                errors += 1
                print(f"duplicate url ({c}x): {u}")
        print(f"{len(recs)} records, {errors} problems")
        for key in ("language", "collected_as", "text_kind", "publisher"):
            print(key, dict(Counter(r.get(key, "") for r in recs).most_common()))
        print("events", dict(Counter(r.get("event", "") for r in recs if r.get("event"))))
        return 1 if errors else 0
    for r in recs:
        row = {k: r.get(k, "") for k in FIELDS}
        row["text"] = r["text"]
        print(json.dumps(row, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
