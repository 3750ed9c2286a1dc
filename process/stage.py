"""The tagging service: raw articles in, tagged articles out (``newsmon process``)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from newsmon.bus import RAW_TOPIC, TAGGED_TOPIC, Bus, Record
from newsmon.runtime import DeadLetter
from newsmon.schema import RawArticle, SchemaError, TaggedArticle, Tags, decode, encode

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")


class BatchTagger(Protocol):
    def tag_batch(self, items: Sequence[tuple[str, str]]) -> list[Tags]: ...


def story_key(title: str, text: str) -> str:
    """A first story id: identical wire copies (same words in title and lead) share it."""
    words = _WORD.findall(f"{title} {text[:400]}".lower())
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:24]


class ProcessStage:
    name = "process"
    topics = (RAW_TOPIC,)

    def __init__(
        self, bus: Bus, tagger: BatchTagger, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._bus = bus
        self._tagger = tagger
        self._clock = clock or (lambda: datetime.now(UTC))

    def handle(self, records: Sequence[Record]) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        good: list[RawArticle] = []
        for rec in records:
            try:
                good.append(decode(RawArticle, rec.value))
            except SchemaError as exc:
                letters.append(DeadLetter(rec, str(exc)))
        if good:
            now = self._clock()
            tags = self._tagger.tag_batch([(a.title, a.text) for a in good])
            for raw, tag in zip(good, tags, strict=True):
                out = TaggedArticle.from_raw(raw, tag, story_key(raw.title, raw.text), now)
                self._bus.publish(TAGGED_TOPIC, out.article_id, encode(out))
            log.info("tagged count=%d dead=%d", len(good), len(letters))
        return letters
