"""The composition root: turns configured URLs into adapters.

Concrete adapters are imported lazily, so the embedded path never imports kafka or
elasticsearch, and stages only ever see the ports.
"""

from __future__ import annotations

from newsmon.bus import Bus, MemoryBus
from newsmon.config import Settings
from newsmon.errors import ConfigError
from newsmon.store import ArticleStore, MemoryStore
from newsmon.stories import MemoryStories, StoryStore


def make_bus(settings: Settings) -> Bus:
    url = settings.bus
    if url.startswith("memory://"):
        return MemoryBus()
    if url.startswith("kafka://"):
        from newsmon.adapters.kafka_bus import KafkaBus
        from newsmon.security import kafka_security

        return KafkaBus(
            url,
            partitions=settings.kafka_partitions,
            prefix=settings.namespace,
            security=kafka_security(settings),
        )
    raise ConfigError(f"NEWSMON_BUS: unsupported URL {url!r} (memory:// or kafka://host:port)")


def make_store(settings: Settings) -> ArticleStore:
    url = settings.store
    if url.startswith("memory://"):
        return MemoryStore()
    if url.startswith("sqlite://"):
        from newsmon.adapters.sqlite_store import SqliteStore

        return SqliteStore.from_url(url)
    if url.startswith(("http://", "https://")):
        from index.layout import load_layout
        from newsmon.adapters.es_store import ElasticsearchStore
        from newsmon.security import es_security

        return ElasticsearchStore(
            url, load_layout(settings.namespace), security=es_security(settings)
        )
    raise ConfigError(
        f"NEWSMON_STORE: unsupported URL {url!r} (memory://, sqlite:///path.db or http(s)://host:9200)"
    )


def make_story_store(settings: Settings) -> StoryStore:
    """Where story identity lives, beside the articles: the same SQLite file in the embedded
    default, the same Elasticsearch cluster (``news-story-*`` indices) with services. With
    ``memory://`` the stories live in this process only (one processor: tests)."""
    url = settings.store
    if url.startswith("memory://"):
        return MemoryStories()
    if url.startswith("sqlite://"):
        from newsmon.adapters.sqlite_stories import SqliteStories

        path = url.removeprefix("sqlite://")
        if path in ("", "/"):
            raise ConfigError(f"SQLite URL without a path: {url!r}")
        return SqliteStories(path)
    if url.startswith(("http://", "https://")):
        from newsmon.adapters.es_stories import EsStories
        from newsmon.security import es_security

        stories = EsStories(
            url, settings.namespace, security=es_security(settings), shards=settings.story_shards
        )
        stories.ensure_schema()
        return stories
    raise ConfigError(f"NEWSMON_STORE: unsupported URL {url!r}")
