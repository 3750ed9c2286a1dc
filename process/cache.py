"""Tag identical content once: a bounded LRU of content hash → :class:`Tags`.

Syndicated copies and re-polled items often carry exactly the same title and text under
another URL. :func:`tag_cached` looks each (title, text) up by :func:`content_key` and sends
only the misses — each distinct text once, even when it repeats within a batch — to the
tagger's ``tag_batch``. The key normalises only Unicode (NFC) and whitespace: case and
punctuation change what the tagger sees, so texts that differ in them are tagged apart.

The cache lives in memory, per process, and is tied to one tagger: tags from another model or
gazetteer are never mixed in (a restart starts it empty).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from newsmon.schema import Tags

DEFAULT_ENTRIES = 10_000


class BatchTagger(Protocol):
    def tag_batch(self, items: Sequence[tuple[str, str]]) -> list[Tags]: ...


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def content_key(title: str, text: str) -> str:
    """32 hex digits of the SHA-256 of the normalised title and text."""
    blob = f"{_normal(title)}\x00{_normal(text)}".encode()
    return hashlib.sha256(blob).hexdigest()[:32]


class TagCache:
    """A bounded LRU mapping content keys to tags; counts hits and misses."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be >= 0")
        self.max_entries = max_entries
        self._items: OrderedDict[str, Tags] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> Tags | None:
        tags = self._items.get(key)
        if tags is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return tags

    def put(self, key: str, tags: Tags) -> None:
        if self.max_entries == 0:
            return
        self._items[key] = tags
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)


def tag_cached(
    tagger: BatchTagger, cache: TagCache, items: Sequence[tuple[str, str]]
) -> list[Tags]:
    """Tags for each (title, text), in order; only content the cache has not seen is tagged,
    each distinct content once."""
    return submit_cached(tagger, cache, items)()


def submit_cached(
    tagger: BatchTagger, cache: TagCache, items: Sequence[tuple[str, str]]
) -> Submitted:
    """:func:`tag_cached` in two steps: look up the cache and start tagging the misses (if the
    tagger has ``submit``, as :class:`process.tagger.Tagger` does, they are tagged while the
    caller goes on); calling the returned :class:`Submitted` finishes and returns the tags."""
    keys = [content_key(title, text) for title, text in items]
    found: dict[str, Tags] = {}
    todo: dict[str, tuple[str, str]] = {}
    for key, item in zip(keys, items, strict=True):
        if key in found or key in todo:
            cache.hits += 1  # a repeat within the batch: tagged once
            continue
        tags = cache.get(key)
        if tags is None:
            todo[key] = item
        else:
            found[key] = tags
    submit = getattr(tagger, "submit", None)
    pending: Callable[[], list[Tags]] | None = None
    if todo and submit is not None:
        pending = submit(list(todo.values()))
    early = dict(zip(todo, getattr(pending, "langs", ()), strict=False))

    def finish() -> list[Tags]:
        if todo:
            fresh = pending() if pending is not None else tagger.tag_batch(list(todo.values()))
            for key, tags in zip(todo, fresh, strict=True):
                cache.put(key, tags)
                found[key] = tags
        return [found[key] for key in keys]

    def vectors() -> list[Any]:
        made = dict(zip(todo, getattr(pending, "vectors", ()), strict=False))
        return [made.get(k) for k in keys]

    langs = [early.get(k) or (found[k].lang or "" if k in found else "") for k in keys]
    return Submitted(finish, vectors, langs)


@dataclass(frozen=True)
class Submitted:
    """Tags, when called; ``langs`` at once; ``vectors`` (embeddings of the texts tagged now,
    None for the cached ones: their copies are matched by their words) once embedded."""

    finish: Callable[[], list[Tags]]
    _vectors: Callable[[], list[Any]]
    langs: list[str]

    def __call__(self) -> list[Tags]:
        return self.finish()

    @property
    def vectors(self) -> list[Any]:
        return self._vectors()
