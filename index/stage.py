"""The indexing service: tagged articles in, documents in the store (``newsmon index``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from newsmon.bus import TAGGED_TOPIC, Record
from newsmon.documents import search_document
from newsmon.runtime import DeadLetter
from newsmon.schema import SchemaError, TaggedArticle, decode
from newsmon.store import ArticleStore

log = logging.getLogger(__name__)


class IndexStage:
    name = "index"
    topics = (TAGGED_TOPIC,)

    def __init__(self, store: ArticleStore, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._clock = clock or (lambda: datetime.now(UTC))
        self.written = 0
        self.duplicates = 0

    def handle(self, records: Sequence[Record]) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        docs: dict[str, tuple[Record, dict[str, object]]] = {}
        now = self._clock()
        for rec in records:
            try:
                article = decode(TaggedArticle, rec.value)
            except SchemaError as exc:
                letters.append(DeadLetter(rec, str(exc)))
                continue
            docs[article.article_id] = (rec, search_document(article, ingested=now))
        result = self._store.write_articles([doc for _, doc in docs.values()])
        for doc_id, reason in result.failed:
            letters.append(DeadLetter(docs[doc_id][0], f"store rejected document: {reason}"))
        self.written += len(result.written)
        self.duplicates += len(result.duplicates)
        log.info(
            "indexed written=%d duplicates=%d failed=%d",
            len(result.written),
            len(result.duplicates),
            len(result.failed),
        )
        return letters
