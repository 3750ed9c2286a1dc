"""The composition root: turns configured URLs into adapters.

Concrete adapters are imported lazily, so the embedded path never imports kafka or
elasticsearch, and stages only ever see the ports.
"""

from __future__ import annotations

from newsmon.bus import Bus, MemoryBus
from newsmon.config import Settings
from newsmon.errors import ConfigError
from newsmon.store import ArticleStore, MemoryStore


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
