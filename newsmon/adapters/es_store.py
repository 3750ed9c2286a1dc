"""Elasticsearch adapter of the :class:`~newsmon.store.ArticleStore` port (client 9.x).

Articles live in rollover-ready backing indices (``news-articles-000001``, ...) behind the
write alias ``news-articles``. Writes are ``op_type=create`` with ``_id`` = ``article_id``, sent
to the alias's current write index by name; since an ``_id`` is unique only within one index,
the ids of a batch are first looked up (``_mget``, real-time) in the alias's other indices, and
those found count as duplicates, so an article replayed after a rollover gets no second copy.
Per document: 409 is a duplicate (a replay), 400 a permanent failure (mapping error: dead letter
with the reason), 429 and 5xx are retried in a few rounds with back-off, then the batch is
transient. Exactness assumes one writer per article id at a time, which Kafka's keyed
partitioning gives. Queries are Lucene ``query_string`` with the index's
``index.query.default_field`` (title, text), exactly what Kibana's Lucene bar sends.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    ConflictError,
    Elasticsearch,
    NotFoundError,
)

from newsmon.adapters.es_aggregations import aggregation_body, aggregations_of
from newsmon.adapters.es_signals import EsSignals
from newsmon.aggregations import Aggregations, Interval, StoryOrder, check_request
from newsmon.documents import SearchDocument
from newsmon.errors import ConfigError, TransientError
from newsmon.query import QueryError, compile_query
from newsmon.security import ElasticsearchSecurity
from newsmon.signals import SIGNALS_INDEX, Versioned
from newsmon.store import (
    STATS_DAY_TOPICS,
    STATS_TOP,
    IndexLayout,
    RolloverPolicy,
    SearchResult,
    Sort,
    Stats,
    WriteResult,
)

log = logging.getLogger(__name__)

_TRANSIENT_STATUS = {429, 500, 502, 503, 504}
_DOC_RETRIES = 5  # rounds for documents that failed with 429/5xx before the batch is transient
_HIGHLIGHT = {
    "fields": {
        "title": {"number_of_fragments": 0},
        "text": {"fragment_size": 150, "number_of_fragments": 3},
    }
}


_ANY_STATUS = range(1000)
_BULK_FILTER = ["errors", "items.*.status", "items.*.error"]
P = ParamSpec("P")
R = TypeVar("R")


def _transient(exc: Exception, what: str) -> TransientError:
    return TransientError(f"elasticsearch {what} failed: {exc}")


def _translates(
    what: str, statuses: Collection[int] = ()
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The one place vendor errors become :class:`TransientError`: a connection failure or
    timeout always; an HTTP error only if its status is in ``statuses`` (``_TRANSIENT_STATUS``
    for writes, ``_ANY_STATUS`` for the health check). Errors the method handles itself
    (404, 409, a rejected query) never get here."""

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def translated(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except (TransportConnectionError, ConnectionTimeout) as exc:
                raise _transient(exc, what) from exc
            except ApiError as exc:
                if exc.status_code in statuses:
                    raise _transient(exc, what) from exc
                raise

        return translated

    return decorate


class _AuthCheckedClient(Elasticsearch):
    """Every request of the store (namespaced APIs and bulk included) goes through
    :meth:`perform_request`: rejected credentials (401) and missing privileges (403
    ``security_exception``) become one :class:`ConfigError` here, permanent for the process,
    instead of a retry loop. Other 403s (e.g. ``cluster_block_exception``) pass unchanged."""

    def perform_request(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().perform_request(*args, **kwargs)
        except AuthenticationException as exc:
            raise ConfigError(
                f"elasticsearch rejected the credentials (HTTP 401): {_reason(exc.info)}; "
                "check NEWSMON_ES_USERNAME / NEWSMON_ES_PASSWORD(_FILE) / NEWSMON_ES_API_KEY(_FILE)"
            ) from exc
        except AuthorizationException as exc:
            if exc.error != "security_exception":
                raise
            raise ConfigError(
                f"elasticsearch denied a request (HTTP 403): {_reason(exc.info)}; "
                "give the configured user or API key the privileges newsmon needs"
            ) from exc


def es_client(
    url: str, security: ElasticsearchSecurity | None = None, timeout: float = 30
) -> Elasticsearch:
    """The client every adapter of the store uses: credentials and TLS from ``security``,
    retries of timeouts and 429/5xx answers, rejected credentials a :class:`ConfigError`."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"not an Elasticsearch URL: {url!r}")
    return _AuthCheckedClient(
        url,
        **(security.client_options() if security is not None else {}),
        request_timeout=timeout,
        retry_on_timeout=True,
        max_retries=2,
        retry_on_status=(429, 502, 503, 504),
    )


class ElasticsearchStore:
    def __init__(
        self,
        url: str,
        layout: IndexLayout | None = None,
        *,
        timeout: float = 30,
        chunk_docs: int = 500,
        chunk_bytes: int = 10 * 1024 * 1024,
        security: ElasticsearchSecurity | None = None,
    ) -> None:
        self._es = es_client(url, security, timeout)
        self.chunk_docs, self.chunk_bytes = chunk_docs, chunk_bytes
        self._layout = layout
        self.alias = layout.alias if layout else "news-articles"
        self.alerts_index = layout.alerts_index if layout else "news-alerts"
        self._signals = EsSignals(self._es, layout.signals_index if layout else SIGNALS_INDEX)

    @property
    def client(self) -> Elasticsearch:
        return self._es

    @_translates("schema setup")
    def ensure_schema(self) -> None:
        if self._layout is None:
            raise ConfigError("this store was built without an index layout")
        lay = self._layout
        for name, body in lay.component_templates.items():
            self._es.cluster.put_component_template(name=name, **body)
        for name, body in lay.index_templates.items():
            self._es.indices.put_index_template(name=name, **body)
        if not self._es.indices.exists_alias(name=lay.alias):
            self._create_index(lay.first_index, aliases={lay.alias: {"is_write_index": True}})
        if not self._es.indices.exists(index=lay.alerts_index):
            self._create_index(lay.alerts_index)
        self._signals.ensure()

    def _create_index(self, index: str, **body: Any) -> None:
        try:
            self._es.indices.create(index=index, **body)
        except BadRequestError as exc:  # created meanwhile by another instance
            if "resource_already_exists" not in str(exc):
                raise

    @_translates("bulk write", _TRANSIENT_STATUS)
    def write_articles(self, docs: Sequence[Mapping[str, Any]]) -> WriteResult:
        """One alias lookup and (with several backing indices) one ``_mget`` per call, then
        the bulk; a :class:`SearchDocument` goes out as its pre-encoded JSON."""
        result = WriteResult()
        if not docs:
            return result
        target, others = self._backing_indices()
        ids = [str(d["article_id"]) for d in docs]
        known = self._existing_ids(ids, others)
        result.duplicates.extend(i for i in ids if i in known)
        pending = [d for d, i in zip(docs, ids, strict=True) if i not in known]
        for attempt in range(_DOC_RETRIES):
            if attempt:
                time.sleep(0.5 * 2 ** (attempt - 1))  # 0.5 s, 1 s, 2 s, 4 s
            pending = self._bulk_create(target, pending, result)
            if not pending:
                return result
        raise TransientError(f"{len(pending)} documents not written after {_DOC_RETRIES} rounds")

    def _bulk_create(
        self, index: str, docs: Sequence[Mapping[str, Any]], result: WriteResult
    ) -> list[Mapping[str, Any]]:
        """Create ``docs`` in ``index``; record outcomes; return the transiently failed ones."""
        retry: list[Mapping[str, Any]] = []
        for doc, doc_id, status, error in self._bulk(index, docs):
            if 200 <= status < 300:
                result.written.append(doc_id)
            elif status == 409:
                result.duplicates.append(doc_id)
            elif status in _TRANSIENT_STATUS or status == 0:
                log.warning("bulk item transient id=%s status=%s", doc_id, status)
                retry.append(doc)
            else:
                result.failed.append((doc_id, _reason(error)))
        return retry

    def _bulk(
        self, index: str, docs: Sequence[Mapping[str, Any]]
    ) -> Iterator[tuple[Mapping[str, Any], str, int, Any]]:
        """``_bulk`` create requests of at most ``chunk_docs`` documents and ``chunk_bytes``;
        (doc, id, status, error) per document. The NDJSON body is joined from bytes: a
        :class:`SearchDocument` brings its JSON, the action line is a template, so the only
        serialisation is the document's own (``helpers.streaming_bulk`` would copy each
        action, serialise it as a dict and track it: ~10 µs a document). Per-item 429/5xx
        come back to the caller's retry rounds; a whole request that fails after the
        transport's retries (429, 502-504) raises."""
        head = b'{"create":{"_index":' + json.dumps(index).encode() + b',"_id":'
        lines: list[bytes] = []
        chunk: list[tuple[Mapping[str, Any], str]] = []
        size = 0
        for doc in docs:
            if isinstance(doc, SearchDocument):
                doc_id, source = doc.article_id, doc.encoded()
            else:
                doc_id = str(doc["article_id"])
                source = json.dumps(doc, ensure_ascii=False).encode()
            plain = doc_id.isascii() and doc_id.isalnum()  # hex ids: nothing to escape
            quoted = b'"' + doc_id.encode() + b'"' if plain else json.dumps(doc_id).encode()
            line = b"".join((head, quoted, b"}}\n", source, b"\n"))
            if lines and (len(lines) == self.chunk_docs or size + len(line) > self.chunk_bytes):
                yield from self._send(lines, chunk)
                lines, chunk, size = [], [], 0
            lines.append(line)
            chunk.append((doc, doc_id))
            size += len(line)
        if lines:
            yield from self._send(lines, chunk)

    def _send(
        self, lines: list[bytes], chunk: list[tuple[Mapping[str, Any], str]]
    ) -> Iterator[tuple[Mapping[str, Any], str, int, Any]]:
        """One ``_bulk`` request. The response is filtered to each item's status and error
        (items come back in request order, so ids are ours): a 500-document answer shrinks
        from ~75 KB to ~12 KB, and with ``errors: false`` nothing in it is read at all."""
        resp = self._es.bulk(
            operations=b"".join(lines),  # type: ignore[arg-type]  # NDJSON as is
            filter_path=_BULK_FILTER,
        )
        if not resp.get("errors"):
            for doc, doc_id in chunk:
                yield doc, doc_id, 201, None
            return
        items = resp["items"]
        if len(items) != len(chunk):  # cannot happen; refuse to guess which item is whose
            raise TransientError(f"bulk answered {len(items)} items for {len(chunk)} documents")
        for (doc, doc_id), item in zip(chunk, items, strict=True):
            info = item.get("create", {})
            yield doc, doc_id, _status(info.get("status")), info.get("error")

    def _backing_indices(self) -> tuple[str, list[str]]:
        """The alias's write index and its other indices (schema created if missing)."""
        try:
            aliases = self._es.indices.get_alias(name=self.alias)
        except NotFoundError:
            self.ensure_schema()
            aliases = self._es.indices.get_alias(name=self.alias)
        indices = sorted(aliases.body)
        writes = [i for i in indices if aliases[i]["aliases"][self.alias].get("is_write_index")]
        target = writes[0] if writes else indices[-1]
        return target, [i for i in indices if i != target]

    def _existing_ids(self, ids: Sequence[str], indices: Sequence[str]) -> set[str]:
        """Which ``ids`` exist in ``indices`` (real-time ``_mget``: sees unrefreshed writes)."""
        if not indices or not ids:
            return set()
        wanted = [{"_index": i, "_id": d} for i in indices for d in ids]
        found: set[str] = set()
        for start in range(0, len(wanted), 5000):
            resp = self._es.mget(docs=wanted[start : start + 5000], source=False)
            found.update(str(d["_id"]) for d in resp["docs"] if d.get("found"))
        return found

    @_translates("schema check")
    def live_schema(self) -> dict[str, Any]:
        """What the cluster holds of this store's layout (``newsmon index check`` compares)."""
        if self._layout is None:
            raise ConfigError("this store was built without an index layout")
        lay, es = self._layout, self._es.options(ignore_status=404)
        comps = {n: _first(es.cluster.get_component_template(name=n), "component_template")
                 for n in lay.component_templates}
        temps = {n: _first(es.indices.get_index_template(name=n), "index_template")
                 for n in lay.index_templates}
        aliases = es.indices.get_alias(name=lay.alias).body
        mappings = es.indices.get_mapping(index=f"{lay.alias},{lay.alerts_index}",
                                          ignore_unavailable=True).body
        return {
            "component_templates": comps,
            "index_templates": temps,
            "aliases": {i: bool(a["aliases"][lay.alias].get("is_write_index"))
                        for i, a in aliases.items() if i not in ("error", "status")},
            "mappings": {i: m.get("mappings", {}) for i, m in mappings.items()
                         if i not in ("error", "status")},
        }

    @_translates("rollover", _TRANSIENT_STATUS)
    def rollover(self, policy: RolloverPolicy) -> str | None:
        """``_rollover`` of the write alias with the policy's conditions; the new write index."""
        conditions = policy.conditions()
        if not conditions:  # without conditions Elasticsearch would roll over unconditionally
            return None
        resp = self._es.indices.rollover(alias=self.alias, conditions=conditions)
        return str(resp["new_index"]) if resp.get("rolled_over") else None

    @_translates("search")
    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        sort: Sort = "published",
        highlight: bool = False,
        offset: int = 0,
    ) -> SearchResult:
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
                from_=max(offset, 0),
                sort=body_sort,
                track_total_hits=True,
                highlight=_HIGHLIGHT if highlight else None,
            )
        except NotFoundError:
            return SearchResult(total=0, hits=[])
        except BadRequestError as exc:
            raise QueryError(f"Elasticsearch rejected the query: {_reason(exc.info)}") from exc
        raw = resp["hits"]["hits"]
        hits = [dict(h["_source"]) for h in raw]
        marks = [dict(h.get("highlight", {})) for h in raw] if highlight else []
        return SearchResult(total=int(resp["hits"]["total"]["value"]), hits=hits, highlights=marks)

    @_translates("stats")
    def stats(self, query: str = "*:*", *, top: int = STATS_TOP) -> Stats:
        compile_query(query)
        aggs: dict[str, Any] = {
            "per_day": {
                "date_histogram": {"field": "published", "calendar_interval": "day",
                                   "min_doc_count": 1, "time_zone": "UTC"},
                "aggs": {"topics": {"terms": {"field": "topic.raw", "size": STATS_DAY_TOPICS}}},
            },  # raw sub-fields: the names as written, not as the lc normalizer indexes them
            "actors": {"terms": {"field": "actor.raw", "size": top}},
            "sources": {"terms": {"field": "source.raw", "size": top}},
            "topics": {"terms": {"field": "topic.raw", "size": top}},
        }
        try:
            resp = self._es.search(index=self.alias, query=_query_string(query), size=0,
                                   aggs=aggs, track_total_hits=True)
        except NotFoundError:
            return Stats(0, [], [], [], [])
        except BadRequestError as exc:
            raise QueryError(f"Elasticsearch rejected the query: {_reason(exc.info)}") from exc
        a = resp["aggregations"]
        per_day = [{"day": b["key_as_string"][:10], "total": b["doc_count"],
                    "topics": _pairs(b["topics"])} for b in a["per_day"]["buckets"]]
        return Stats(int(resp["hits"]["total"]["value"]), per_day,
                     list(_pairs(a["actors"]).items()), list(_pairs(a["sources"]).items()),
                     list(_pairs(a["topics"]).items()))

    @_translates("aggregate")
    def aggregate(
        self,
        query: str,
        *,
        terms: Mapping[str, int] | None = None,
        histogram: Interval | None = None,
        stories: int = 0,
        story_order: StoryOrder = "recent",
    ) -> Aggregations:
        """One ``size: 0`` search with the aggregations of :mod:`.es_aggregations`."""
        compile_query(query)
        check_request(terms, histogram)
        aggs = aggregation_body(terms or {}, histogram, stories, story_order)
        try:
            resp = self._es.search(index=self.alias, query=_query_string(query), size=0,
                                   aggs=aggs or None, track_total_hits=True)
        except NotFoundError:
            return Aggregations(total=0)
        except BadRequestError as exc:
            raise QueryError(f"Elasticsearch rejected the query: {_reason(exc.info)}") from exc
        return aggregations_of(resp.body, terms or {}, stories)

    @_translates("get")
    def get(self, article_id: str) -> dict[str, Any] | None:
        try:
            resp = self._es.search(
                index=self.alias, query={"ids": {"values": [article_id]}}, size=1
            )
        except NotFoundError:
            return None
        hits = resp["hits"]["hits"]
        return dict(hits[0]["_source"]) if hits else None

    @_translates("count")
    def count(self, query: str = "*") -> int:
        try:
            resp = self._es.count(index=self.alias, query=_query_string(query))
        except NotFoundError:
            return 0
        return int(resp["count"])

    @_translates("alert ledger write", _TRANSIENT_STATUS)
    def record_alert(self, alert_id: str, doc: Mapping[str, Any]) -> bool:
        try:
            self._es.create(  # no refresh: get-by-id is real-time; alerts() refreshes
                index=self.alerts_index, id=alert_id, document={**doc, "alert_id": alert_id}
            )
        except ConflictError:
            return False
        return True

    @_translates("alert ledger update", _TRANSIENT_STATUS)
    def update_alert(self, alert_id: str, fields: Mapping[str, Any]) -> None:
        try:
            self._es.update(index=self.alerts_index, id=alert_id, doc=dict(fields))
        except NotFoundError as exc:
            raise KeyError(alert_id) from exc

    @_translates("alert ledger read")
    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        try:
            resp = self._es.get(index=self.alerts_index, id=alert_id)
        except NotFoundError:
            return None
        return dict(resp["_source"])

    @_translates("alert ledger read")
    def alerts(self, where: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        filters = [{"term": {k: v}} for k, v in (where or {}).items()]
        query = {"bool": {"filter": filters}} if filters else {"match_all": {}}
        try:
            self._es.indices.refresh(index=self.alerts_index, ignore_unavailable=True)
            resp = self._es.search(index=self.alerts_index, size=10_000, query=query)
        except NotFoundError:
            return []
        return [dict(h["_source"]) for h in resp["hits"]["hits"]]

    @_translates("signal write", _TRANSIENT_STATUS)
    def record_hits(self, series: str, hits: Sequence[Mapping[str, Any]]) -> int:
        return self._signals.record_hits(series, hits)

    @_translates("signal read")
    def hits(self, series: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
        return self._signals.hits(series, since, until)

    @_translates("signal retention", _TRANSIENT_STATUS)
    def drop_hits(self, series: str, before: datetime) -> int:
        return self._signals.drop_hits(series, before)

    @_translates("signal state read")
    def get_state(self, key: str) -> Versioned | None:
        return self._signals.get_state(key)

    @_translates("signal state write", _TRANSIENT_STATUS)
    def put_state(self, key: str, doc: Mapping[str, Any], version: str | None) -> str | None:
        return self._signals.put_state(key, doc, version)

    @_translates("refresh")
    def refresh(self) -> None:
        self._es.indices.refresh(index=f"{self.alias},{self.alerts_index}", ignore_unavailable=True)

    @_translates("health check", _ANY_STATUS)
    def check(self) -> None:
        self._es.cluster.health(timeout="5s")

    @_translates("lifecycle setup")
    def install_lifecycle(self, name: str, policy: Mapping[str, Any]) -> list[str]:
        """Put the ILM ``policy`` as ``name`` and reference it from the articles' settings
        component template and the existing backing indices (``index.lifecycle.name``,
        ``rollover_alias``); the names changed. A cluster without ILM raises
        :class:`ConfigError` before anything is written."""
        if self._layout is None:
            raise ConfigError("this store was built without an index layout")
        try:
            self._es.ilm.get_status()
        except ApiError as exc:
            if exc.status_code not in (400, 404, 405, 410):
                raise
            raise ConfigError(
                "this Elasticsearch has no index lifecycle management (ILM: x-pack-ilm, "
                f"HTTP {exc.status_code} on _ilm/status); nothing was changed. Without ILM the "
                "indexer rolls the alias over itself (NEWSMON_INDEX_ROLLOVER_*)"
            ) from exc
        lifecycle = {"lifecycle": {"name": name, "rollover_alias": self.alias}}
        self._es.ilm.put_lifecycle(name=name, **policy)
        changed = [f"policy {name}"]
        for comp, body in self._layout.component_templates.items():
            settings = body.get("template", {}).get("settings")
            if settings is None:
                continue
            index = {**settings.get("index", {}), **lifecycle}  # keeps other index.* settings
            template = {**body["template"], "settings": {**settings, "index": index}}
            self._es.cluster.put_component_template(name=comp, **{**body, "template": template})
            changed.append(f"component template {comp}")
        for index in sorted(self._es.indices.get_alias(name=self.alias).body):
            self._es.indices.put_settings(index=index, settings={"index": lifecycle})
            changed.append(f"index {index}")
        return changed

    def drop(self) -> None:
        """Delete every index, template and alias of this store's layout (tests, benches,
        tearing down a namespace). Irreversible."""
        if self._layout is None:
            raise ConfigError("this store was built without an index layout")
        lay, es = self._layout, self._es.options(ignore_status=404)
        es.indices.delete(index=f"{lay.alias}-*,{lay.alerts_index}*,{lay.signals_index}*",
                          ignore_unavailable=True)
        for name in lay.index_templates:
            es.indices.delete_index_template(name=name)
        for name in lay.component_templates:
            es.cluster.delete_component_template(name=name)

    def close(self) -> None:
        self._es.close()


def _query_string(query: str) -> dict[str, Any]:
    q = query.strip() or "*"
    return {"query_string": {"query": q, "default_operator": "OR", "analyze_wildcard": True}}


def _first(resp: Any, kind: str) -> dict[str, Any] | None:
    """The body of the one template a GET _component_template/_index_template returned."""
    found = resp.body.get(kind + "s") or []
    return dict(found[0][kind]) if found else None


def _pairs(agg: Mapping[str, Any]) -> dict[str, int]:
    return {str(b["key"]): int(b["doc_count"]) for b in agg["buckets"]}


def _status(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):  # "N/A" when the whole chunk failed without a response
        return 0


def _short(text: Any, limit: int = 400) -> str:
    """Elasticsearch quotes the offending value (maybe megabytes): keep the message readable."""
    value = str(text)
    return value if len(value) <= limit else value[: limit - 20] + f"… [{len(value)} chars]"


def _reason(error: Any) -> str:
    if isinstance(error, Mapping):
        inner = error.get("error", error)
        if isinstance(inner, Mapping):
            caused = inner.get("caused_by", {})
            text = f"{inner.get('type', 'error')}: {_short(inner.get('reason', ''))}"
            if isinstance(caused, Mapping) and caused.get("reason"):
                text += f" (caused by {caused.get('type')}: {_short(caused.get('reason'))})"
            return text
        return str(inner)
    return str(error)
