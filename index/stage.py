"""The indexing service: tagged articles in, documents in the store (``newsmon index``).

``handle`` decodes the whole polled batch and writes it in one call (create-only, ``_id`` =
``article_id``; documents as :class:`~newsmon.documents.SearchDocument`, which a JSON store
sends pre-encoded — a message that validates exactly is sent as its own bytes, and sent once
more canonically if the store rejects it that way); it returns only when the store
acknowledged the batch, so the runtime commits offsets after the write. Outcomes: written;
duplicate (already in the store, in any backing index, or twice in the batch); dead letter
(undecodable message, or a document the store rejects for good, e.g. a mapping error) with
the reason. A store that is down raises
TransientError: nothing is committed and the batch comes again. Every ``policy.check_every``
seconds the stage asks a store with backing indices (:class:`~newsmon.store.RollingStore`)
to roll over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from newsmon.bus import TAGGED_TOPIC, Record
from newsmon.config import Settings
from newsmon.documents import SearchDocument, decode_exact
from newsmon.errors import TransientError
from newsmon.runtime import DeadLetter
from newsmon.schema import SchemaError, TaggedArticle, decode
from newsmon.store import ArticleStore, RollingStore, RolloverPolicy

log = logging.getLogger(__name__)

class IndexStage:
    name = "index"
    topics = (TAGGED_TOPIC,)

    def __init__(
        self,
        store: ArticleStore,
        clock: Callable[[], datetime] | None = None,
        policy: RolloverPolicy | None = None,
    ) -> None:
        self._store = store
        self._clock = clock or (lambda: datetime.now(UTC))
        self._policy = policy or RolloverPolicy()
        self._next_rollover_check: datetime | None = None
        self.written = 0
        self.duplicates = 0
        self.dead_letters = 0
        self.rollovers: list[str] = []

    @classmethod
    def from_settings(cls, store: ArticleStore, settings: Settings) -> IndexStage:
        return cls(store, policy=rollover_policy(settings))

    def handle(self, records: Sequence[Record]) -> list[DeadLetter]:
        now = self._clock()
        docs, copies, letters = self._documents(records, now)
        result = self._store.write_articles([doc for _, doc in docs.values()])
        failed = dict(result.failed)
        again = [docs[i][1].canonical() for i in failed if docs[i][1].is_verbatim]
        if again:  # a verbatim document rejected: send it once as the article serialises
            retried = self._store.write_articles(again)
            for doc_id in (*retried.written, *retried.duplicates):
                del failed[doc_id]
            failed.update(retried.failed)
            result.written.extend(retried.written)
            result.duplicates.extend(retried.duplicates)
        for doc_id, reason in failed.items():  # every copy of a rejected document is a letter
            for rec in [docs[doc_id][0], *copies.pop(doc_id, [])]:
                letters.append(DeadLetter(rec, f"store rejected document: {reason}"))
        repeated = sum(len(c) for c in copies.values())
        self.written += len(result.written)
        self.duplicates += len(result.duplicates) + repeated
        self.dead_letters += len(letters)
        log.info(
            "indexed written=%d duplicates=%d failed=%d",
            len(result.written),
            len(result.duplicates) + repeated,
            len(letters),
        )
        self._maybe_rollover(now)
        return letters

    def _documents(
        self, records: Sequence[Record], now: datetime
    ) -> tuple[dict[str, tuple[Record, SearchDocument]], dict[str, list[Record]], list[DeadLetter]]:
        """One search document per article id (later copies in ``copies``), and the records
        that are not tagged articles, as dead letters. A message that decodes exactly is sent
        as it came (:meth:`SearchDocument.verbatim`); any other is decoded as usual."""
        docs: dict[str, tuple[Record, SearchDocument]] = {}
        copies: dict[str, list[Record]] = {}
        letters: list[DeadLetter] = []
        for rec in records:
            exact = decode_exact(rec.value)
            if exact is not None:
                article: TaggedArticle = exact
                doc = SearchDocument.verbatim(exact, rec.value, ingested=now)
            else:
                try:
                    article = decode(TaggedArticle, rec.value)
                except SchemaError as exc:
                    letters.append(DeadLetter(rec, str(exc)))
                    continue
                doc = SearchDocument(article, ingested=now)
            if article.article_id in docs:
                copies.setdefault(article.article_id, []).append(rec)
            else:
                docs[article.article_id] = (rec, doc)
        return docs, copies, letters

    def _maybe_rollover(self, now: datetime) -> None:
        if not isinstance(self._store, RollingStore):
            return
        if self._next_rollover_check is not None and now < self._next_rollover_check:
            return
        self._next_rollover_check = now + timedelta(seconds=self._policy.check_every)
        try:
            new_index = self._store.rollover(self._policy)
        except TransientError as exc:  # the batch is written; try again at the next check
            log.warning("rollover check failed error=%s", exc)
            return
        if new_index is not None:
            self.rollovers.append(new_index)
            log.info("rolled over new_write_index=%s", new_index)


def rollover_policy(settings: Settings) -> RolloverPolicy:
    return RolloverPolicy(
        max_docs=settings.index_rollover_max_docs,
        max_size=settings.index_rollover_max_size,
        max_age=settings.index_rollover_max_age,
        check_every=settings.index_rollover_check_every,
    )
