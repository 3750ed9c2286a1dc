"""``newsmon tag``: JSON Lines of articles in, one tagged JSON line per input out, same order.

Input fields: ``id``, ``title``, ``text``, ``url``, ``source``, ``published`` (all optional).
Output: ``id``, ``topics`` ([{name, score, evidence}], only topics that apply), ``actors``
([{name, type, country, mentions, in_title, salience}]), ``places``, ``lang``, ``tagged_by``.
A line that is not a JSON object yields ``{"id": null, "error": ...}`` in its place.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from typing import IO, Any

from process.stage import BatchTagger


def _parse(line: str) -> dict[str, Any] | str:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(item, dict):
        return f"expected a JSON object, got {type(item).__name__}"
    return item


def _batches(lines: IO[str], size: int) -> Iterator[list[str]]:
    it = (line for line in lines if line.strip())
    while batch := list(islice(it, size)):
        yield batch


def tag_stream(
    lines: IO[str], out: IO[str], *, tagger: BatchTagger | None = None, batch_size: int = 64
) -> int:
    """Tag every line of ``lines`` into ``out``; returns the number of lines written."""
    if tagger is None:
        from process.tagger import Tagger

        tagger = Tagger.load()
    written = 0
    for batch in _batches(lines, batch_size):
        items = [_parse(line) for line in batch]
        good = [i for i in items if isinstance(i, dict)]
        tags = iter(tagger.tag_batch([(_s(i, "title"), _s(i, "text")) for i in good]))
        for item in items:
            if isinstance(item, str):
                row: dict[str, Any] = {"id": None, "error": item, "topics": [], "actors": []}
            else:
                row = {"id": item.get("id"), **next(tags).model_dump(mode="json")}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            written += 1
        out.flush()
    return written


def _s(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) else ""
