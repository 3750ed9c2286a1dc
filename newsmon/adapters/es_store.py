"""Elasticsearch adapter of the :class:`~newsmon.store.ArticleStore` port (client 9.x).

Articles are written with ``op_type=create`` through the write alias, ``_id`` = ``article_id``:
a 409 is a duplicate (a replay), a 400 is a permanent per-document failure (mapping error), a
429/5xx or a connection failure is transient. Queries are Lucene ``query_string`` with the
index's ``index.query.default_field`` (title, text), exactly what Kibana's Lucene bar sends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import (
    ApiError,
    BadRequestError,
    ConflictError,
    Elasticsearch,
    NotFoundError,
    helpers,
)

from newsmon.errors import ConfigError, TransientError
from newsmon.query import QueryError, compile_query
from newsmon.store import IndexLayout, SearchResult, Sort, WriteResult

log = logging.getLogger(__name__)

_TRANSIENT_STATUS = {429, 500, 502, 503, 504}


def _transient(exc: Exception, what: str) -> TransientError:
    return TransientError(f"elasticsearch {what} failed: {exc}")


class ElasticsearchStore:
    def __init__(self, url: str, layout: IndexLayout | None = None, *, timeout: float = 30) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"not an Elasticsearch URL: {url!r}")
        self._es = Elasticsearch(url, request_timeout=timeout, retry_on_timeout=True, max_retries=2)
        self._layout = layout
        self.alias = layout.alias if layout else "news-articles"
        self.alerts_index = layout.alerts_index if layout else "news-alerts"

    @property
    def client(self) -> Elasticsearch:
        return self._es

    def ensure_schema(self) -> None:
        if self._layout is None:
            raise ConfigError("this store was built without an index layout")
        lay = self._layout
        try:
            for name, body in lay.component_templates.items():
                self._es.cluster.put_component_template(name=name, **body)
            for name, body in lay.index_templates.items():
                self._es.indices.put_index_template(name=name, **body)
            if not self._es.indices.exists_alias(name=lay.alias):
                try:
                    self._es.indices.create(
                        index=lay.first_index, aliases={lay.alias: {"is_write_index": True}}
                    )
                except BadRequestError as exc:  # created meanwhile by another instance
                    if "resource_already_exists" not in str(exc):
                        raise
            if not self._es.indices.exists(index=lay.alerts_index):
                try:
                    self._es.indices.create(index=lay.alerts_index)
                except BadRequestError as exc:
                    if "resource_already_exists" not in str(exc):
                        raise
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise _transient(exc, "schema setup") from exc

    def write_articles(self, docs: Sequence[Mapping[str, Any]]) -> WriteResult:
        result = WriteResult()
        if not docs:
            return result
        transient: list[str] = []
        try:
            for ok, item in helpers.streaming_bulk(
                self._es,
                self._actions(docs),
                chunk_size=500,
                max_retries=5,
                initial_backoff=0.5,
                max_backoff=10,
                raise_on_error=False,
                raise_on_exception=False,
            ):
                info = item["create"]
                doc_id, status = str(info.get("_id")), int(info.get("status", 0))
                if ok:
                    result.written.append(doc_id)
                elif status == 409:
                    result.duplicates.append(doc_id)
                elif status in _TRANSIENT_STATUS or status == 0:
                    transient.append(f"{doc_id}: {info.get('error')}")
                else:
                    result.failed.append((doc_id, _reason(info.get("error"))))
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise _transient(exc, "bulk write") from exc
        except ApiError as exc:
            if exc.status_code in _TRANSIENT_STATUS:
                raise _transient(exc, "bulk write") from exc
            raise
        if transient:
            raise TransientError(f"{len(transient)} documents not written: {transient[0]}")
        return result

    def _actions(self, docs: Sequence[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        for doc in docs:
            yield {
                "_op_type": "create",
                "_index": self.alias,
                "_id": doc["article_id"],
                "_source": dict(doc),
            }

    def search(self, query: str, *, limit: int = 20, sort: Sort = "published") -> SearchResult:
        compile_query(query)  # the same syntax and field checks as the stream matcher
        body_sort: list[Any] = (
            [{"published": {"order": "desc", "missing": "_last"}}, "_score"]
            if sort == "published"
            else ["_score", {"published": {"order": "desc", "missing": "_last"}}]
        )
        try:
            resp = self._es.search(
                index=self.alias,
                query=_query_string(query),
                size=limit,
                sort=body_sort,
                track_total_hits=True,
            )
        except NotFoundError:
            return SearchResult(total=0, hits=[])
        except BadRequestError as exc:
            raise QueryError(f"Elasticsearch rejected the query: {_reason(exc.info)}") from exc
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise _transient(exc, "search") from exc
        hits = [dict(h["_source"]) for h in resp["hits"]["hits"]]
        return SearchResult(total=int(resp["hits"]["total"]["value"]), hits=hits)

    def get(self, article_id: str) -> dict[str, Any] | None:
        try:
            resp = self._es.search(
                index=self.alias, query={"ids": {"values": [article_id]}}, size=1
            )
        except NotFoundError:
            return None
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise _transient(exc, "get") from exc
        hits = resp["hits"]["hits"]
        return dict(hits[0]["_source"]) if hits else None

    def count(self, query: str = "*") -> int:
        try:
            resp = self._es.count(index=self.alias, query=_query_string(query))
        except NotFoundError:
            return 0
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise _transient(exc, "count") from exc
        return int(resp["count"])

    def record_alert(self, alert_id: str, doc: Mapping[str, Any]) -> bool:
        try:
            self._es.create(
                index=self.alerts_index,
                id=alert_id,
                document={**doc, "alert_id": alert_id},
                refresh="wait_for",
            )
        except ConflictError:
            return False
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise _transient(exc, "alert ledger write") from exc
        except ApiError as exc:
            if exc.status_code in _TRANSIENT_STATUS:
                raise _transient(exc, "alert ledger write") from exc
            raise
        return True

    def update_alert(self, alert_id: str, fields: Mapping[str, Any]) -> None:
        try:
            self._es.update(
                index=self.alerts_index, id=alert_id, doc=dict(fields), refresh="wait_for"
            )
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise _transient(exc, "alert ledger update") from exc

    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        try:
            resp = self._es.get(index=self.alerts_index, id=alert_id)
        except NotFoundError:
            return None
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise _transient(exc, "alert ledger read") from exc
        return dict(resp["_source"])

    def alerts(self) -> list[dict[str, Any]]:
        try:
            resp = self._es.search(index=self.alerts_index, size=10_000, query={"match_all": {}})
        except NotFoundError:
            return []
        return [dict(h["_source"]) for h in resp["hits"]["hits"]]

    def refresh(self) -> None:
        try:
            self._es.indices.refresh(
                index=f"{self.alias},{self.alerts_index}", ignore_unavailable=True
            )
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise _transient(exc, "refresh") from exc

    def check(self) -> None:
        try:
            self._es.cluster.health(timeout="5s")
        except (TransportConnectionError, ConnectionTimeout, ApiError) as exc:
            raise _transient(exc, "health check") from exc

    def close(self) -> None:
        self._es.close()


def _query_string(query: str) -> dict[str, Any]:
    q = query.strip() or "*"
    return {"query_string": {"query": q, "default_operator": "OR", "analyze_wildcard": True}}


def _reason(error: Any) -> str:
    if isinstance(error, Mapping):
        inner = error.get("error", error)
        if isinstance(inner, Mapping):
            caused = inner.get("caused_by", {})
            text = f"{inner.get('type', 'error')}: {inner.get('reason', '')}"
            if isinstance(caused, Mapping) and caused.get("reason"):
                text += f" (caused by {caused.get('type')}: {caused.get('reason')})"
            return text
        return str(inner)
    return str(error)
