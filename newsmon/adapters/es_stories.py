"""Elasticsearch adapter of the :class:`~newsmon.stories.StoryStore` port.

Two indices (namespaced like every other): ``news-story-bands`` (``_id`` = band key, body: the
claiming article and its event time) and ``news-story-records`` (``_id`` = article id). A claim
and a record's creation are ``op_type=create``: Elasticsearch answers 409 to every writer after
the first, which is what decides a race between processors; reads by id (``_mget``) are
real-time, so a claim is seen at once, without a refresh. Only the nearest-neighbour search
(the records' ``vec``, a cosine ``dense_vector``) reads the searchable view: an article another
processor wrote in the last second may be missed there (a cross-lingual link, not a duplicate).
Connection failures, timeouts, 429 and 5xx are :class:`~newsmon.errors.TransientError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, BadRequestError

from newsmon.adapters.es_store import es_client
from newsmon.errors import TransientError
from newsmon.security import ElasticsearchSecurity
from newsmon.stories import F32, StoryRecord

_TRANSIENT = {429, 500, 502, 503, 504}
PRUNE_LIMIT = 50_000  # documents per index and prune
BANDS_MAPPING = {
    "dynamic": "strict",
    "properties": {"article_id": {"type": "keyword", "index": False}, "ts": {"type": "double"}},
}
RECORDS_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "story_id": {"type": "keyword"},
        "ts": {"type": "double"},
        "sig": {"type": "binary"},
        "n_full": {"type": "integer", "index": False},
        "n_lead": {"type": "integer", "index": False},
        "n_words": {"type": "integer", "index": False},
        "vec": {"type": "dense_vector", "dims": 384, "index": True, "similarity": "cosine"},
        "lang": {"type": "keyword"},
        "ents": {"type": "keyword"},
        "settled": {"type": "boolean"},
    },
}


class EsStories:
    def __init__(
        self,
        url: str,
        prefix: str = "",
        *,
        security: ElasticsearchSecurity | None = None,
        timeout: float = 30,
        shards: int = 1,
    ) -> None:
        self._es = es_client(url, security, timeout)
        self.shards = shards  # primaries of each index, when this store creates it
        self.bands_index = f"{prefix}news-story-bands"
        self.records_index = f"{prefix}news-story-records"

    def ensure_schema(self) -> None:
        with _translated("story store setup"):
            for index, mapping in (
                (self.bands_index, BANDS_MAPPING),
                (self.records_index, RECORDS_MAPPING),
            ):
                if self._es.indices.exists(index=index):
                    continue
                try:
                    self._es.indices.create(
                        index=index,
                        mappings=mapping,
                        settings={"number_of_shards": self.shards, "refresh_interval": "1s"},
                    )
                except BadRequestError as exc:  # created meanwhile by another processor
                    if "resource_already_exists" not in str(exc):
                        raise

    def records(self, article_ids: Iterable[str]) -> dict[str, StoryRecord]:
        docs = self._mget(self.records_index, article_ids)
        return {i: _record(i, d) for i, d in docs.items()}

    def create_records(self, records: Sequence[StoryRecord]) -> set[str]:
        statuses = self._bulk(
            "create", self.records_index, [(r.article_id, _doc(r)) for r in records]
        )
        return {r.article_id for r, s in zip(records, statuses, strict=True) if s in (200, 201)}

    def update_records(self, records: Sequence[StoryRecord]) -> None:
        self._bulk("index", self.records_index, [(r.article_id, _doc(r)) for r in records])

    def claim_bands(self, claims: Mapping[str, str]) -> dict[str, str]:
        if not claims:
            return {}
        ts = {i: r.ts for i, r in self.records(set(claims.values())).items()}
        items = [(k, {"article_id": a, "ts": ts.get(a, 0.0)}) for k, a in claims.items()]
        statuses = self._bulk("create", self.bands_index, items)
        lost = [k for (k, _), s in zip(items, statuses, strict=True) if s == 409]
        winners = {k: a for (k, a), s in zip(claims.items(), statuses, strict=True) if s != 409}
        winners.update(self.band_owners(lost))
        return winners

    def band_owners(self, keys: Iterable[str]) -> dict[str, str]:
        return {k: str(d["article_id"]) for k, d in self._mget(self.bands_index, keys).items()}

    def nearest(
        self, vec: F32, since: float, until: float, lang: str, k: int
    ) -> list[tuple[StoryRecord, float]]:
        knn = {
            "field": "vec",
            "query_vector": [float(x) for x in vec],
            "k": k,
            "num_candidates": max(4 * k, 50),
            "filter": {
                "bool": {
                    "filter": [
                        {"range": {"ts": {"gte": since, "lte": until}}},
                        {"exists": {"field": "lang"}},
                    ],
                    "must_not": [{"term": {"lang": lang}}, {"term": {"lang": ""}}],
                }
            },
        }
        with _translated("story search", _TRANSIENT):
            resp = self._es.search(index=self.records_index, knn=knn, size=k, source_excludes=[])
        # cosine from the score (Elasticsearch's cosine score is (1 + cos) / 2): 9.x leaves the
        # vectors out of _source by default
        out = [
            (_record(h["_id"], h["_source"]), 2.0 * float(h["_score"]) - 1.0)
            for h in resp["hits"]["hits"]
        ]
        return sorted(out, key=lambda p: -p[1])

    def prune(self, bands_before: float, records_before: float) -> None:
        """Search the old documents and delete them by id, at most :data:`PRUNE_LIMIT` per
        index and call (``_delete_by_query`` needs the reindex module, which a minimal
        distribution may lack; the next prune takes the rest)."""
        with _translated("story prune", _TRANSIENT):
            for index, before in (
                (self.bands_index, bands_before),
                (self.records_index, records_before),
            ):
                left = PRUNE_LIMIT
                while left > 0:
                    resp = self._es.search(
                        index=index,
                        query={"range": {"ts": {"lt": before}}},
                        size=min(left, 5_000),
                        source=False,
                    )
                    ids = [h["_id"] for h in resp["hits"]["hits"]]
                    if not ids:
                        break
                    lines = [
                        json.dumps({"delete": {"_index": index, "_id": i}}).encode() for i in ids
                    ]
                    self._es.bulk(
                        operations=b"\n".join(lines) + b"\n",  # type: ignore[arg-type]
                        filter_path=["errors"],
                        refresh=True,
                    )
                    left -= len(ids)

    def drop(self) -> None:
        """Delete both indices (tests)."""
        with _translated("story drop"):
            self._es.indices.delete(
                index=[self.bands_index, self.records_index], ignore_unavailable=True
            )

    def close(self) -> None:
        self._es.close()

    def _mget(self, index: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        with _translated("story read", _TRANSIENT):
            resp = self._es.mget(index=index, ids=wanted, realtime=True)
        return {d["_id"]: d["_source"] for d in resp["docs"] if d.get("found")}

    def _bulk(
        self, op: str, index: str, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[int]:
        """Per item, the HTTP status; 409 (create over an existing id) is an answer, any other
        failure of an item is transient (the batch is retried)."""
        if not items:
            return []
        lines: list[bytes] = []
        for _id, body in items:
            lines.append(json.dumps({op: {"_index": index, "_id": _id}}).encode())
            lines.append(json.dumps(body).encode())
        with _translated("story write", _TRANSIENT):
            resp = self._es.bulk(
                operations=b"\n".join(lines) + b"\n",  # type: ignore[arg-type]
                filter_path=["items.*.status", "items.*.error"],
            )
        statuses = [int(next(iter(i.values())).get("status", 0)) for i in resp["items"]]
        bad = [s for s in statuses if s not in (200, 201, 409)]
        if bad:
            raise TransientError(f"elasticsearch story write failed: HTTP {bad[0]}")
        return statuses


class _translated:
    """Connection failures, timeouts and the given HTTP statuses become TransientError."""

    def __init__(self, what: str, statuses: Iterable[int] = ()) -> None:
        self.what, self.statuses = what, set(statuses)

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, TransportConnectionError | ConnectionTimeout):
            raise TransientError(f"elasticsearch {self.what} failed: {exc}") from exc
        if isinstance(exc, ApiError) and exc.status_code in self.statuses:
            raise TransientError(f"elasticsearch {self.what} failed: {exc}") from exc


def _doc(r: StoryRecord) -> dict[str, Any]:
    import base64

    doc: dict[str, Any] = {
        "story_id": r.story_id,
        "ts": r.ts,
        "sig": base64.b64encode(r.sig).decode(),
        "n_full": r.n_full,
        "n_lead": r.n_lead,
        "n_words": r.n_words,
        "lang": r.lang,
        "ents": sorted(r.ents),
        "settled": r.settled,
    }
    if r.vec is not None:
        doc["vec"] = [round(float(x), 6) for x in r.vec]
    return doc


def _record(article_id: str, d: Mapping[str, Any]) -> StoryRecord:
    import base64

    vec = d.get("vec")
    return StoryRecord(
        article_id,
        str(d["story_id"]),
        float(d["ts"]),
        base64.b64decode(d.get("sig") or ""),
        int(d.get("n_full", 0)),
        int(d.get("n_lead", 0)),
        int(d.get("n_words", 0)),
        np.asarray(vec, dtype=np.float32) if vec else None,
        str(d.get("lang", "")),
        frozenset(d.get("ents") or ()),
        bool(d.get("settled", False)),
    )
