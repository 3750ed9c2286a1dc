"""The tagging service: raw articles in, tagged articles out (``newsmon process``).

Per batch: decode (a :class:`SchemaError` dead-letters the record), start tagging the content
the cache has not seen (:mod:`process.cache`; with the service's NLP worker it is parsed in
another process from here on, embedded in a third), assign story ids by
the articles' words (:mod:`process.story`), collect the tags, link the articles that founded a
story to the same story in another language (by meaning and names), save the assignments
(before anything is published, so a redelivered article keeps its story), publish each
:class:`TaggedArticle` keyed by ``article_id``. The runtime commits after the flush.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from prometheus_client import Counter

from newsmon.bus import RAW_TOPIC, TAGGED_TOPIC, Bus, Record
from newsmon.runtime import DeadLetter, decode_records
from newsmon.schema import RawArticle, TaggedArticle, encode

from .cache import BatchTagger, TagCache, submit_cached
from .story import StoryClusterer, story_entities

__all__ = ["BatchTagger", "ProcessStage"]

log = logging.getLogger(__name__)

CACHE = Counter(
    "newsmon_process_tag_cache_total", "Texts served from the tag cache or tagged", ["status"]
)
STORIES = Counter(
    "newsmon_process_story_assignments_total",
    "Story ids given: the article founds its story (new) or joins an earlier one (joined)",
    ["status"],
)


class ProcessStage:
    name = "process"
    topics = (RAW_TOPIC,)

    def __init__(
        self,
        bus: Bus,
        tagger: BatchTagger,
        clock: Callable[[], datetime] | None = None,
        *,
        clusterer: StoryClusterer | None = None,
        cache: TagCache | None = None,
    ) -> None:
        """Without ``clusterer`` stories are clustered in memory only (lost on restart); use
        ``StoryClusterer(store=make_story_store(settings))`` in a service: the story store
        every processor shares."""
        self._bus = bus
        self._tagger = tagger
        self._clock = clock or (lambda: datetime.now(UTC))
        self.clusterer = clusterer if clusterer is not None else StoryClusterer()
        self.cache = cache if cache is not None else TagCache()

    def handle(self, records: Sequence[Record]) -> list[DeadLetter]:
        decoded, letters = decode_records(RawArticle, records)
        good = [article for _, article in decoded]
        if good:
            self._publish(good)
        log.info(
            "tagged count=%d dead=%d cache_hits=%d cache_misses=%d story_index=%d",
            len(good), len(letters), self.cache.hits, self.cache.misses, len(self.clusterer),
        )
        return letters

    def _publish(self, articles: Sequence[RawArticle]) -> None:
        now = self._clock()
        hits, misses = self.cache.hits, self.cache.misses
        # the texts the cache lacks are being parsed (in the tagger's worker process, if it
        # has one) while the stories are assigned and saved
        finish = submit_cached(self._tagger, self.cache, [(a.title, a.text) for a in articles])
        self.clusterer.assign_batch(articles, langs=finish.langs, commit=False)
        tags = finish()
        stories = self.clusterer.link_batch(
            [a.article_id for a in articles], [story_entities(t) for t in tags], finish.vectors
        )
        CACHE.labels(status="hit").inc(self.cache.hits - hits)
        CACHE.labels(status="miss").inc(self.cache.misses - misses)
        for raw, tag, story_id in zip(articles, tags, stories, strict=True):
            STORIES.labels(status="new" if story_id == raw.article_id else "joined").inc()
            out = TaggedArticle.from_raw(raw, tag, story_id, now)
            self._bus.publish(TAGGED_TOPIC, out.article_id, encode(out))

    def close(self) -> None:
        self.clusterer.close()
        close = getattr(self._tagger, "close", None)
        if close is not None:
            close()
