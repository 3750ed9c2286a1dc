"""The signal operations of the Elasticsearch store (:mod:`newsmon.signals`), in the index
``news-signals`` (template ``news-signals`` in ``index/templates``).

Hits are documents with ``_id`` = series~article_id created with ``op_type=create`` (409 means
the hit is known: a replay). Range reads refresh the index first (a hit written a moment ago
by this or another alerter must count) and page through every match with ``search_after``
on (``at``, ``article_id``). A state is one document ``state~<key>`` whose version is its
``_seq_no:_primary_term``; writes use ``if_seq_no``/``if_primary_term`` (or ``create`` for
the first), so a concurrent writer makes the later one fail with 409, reported as None.
Vendor errors are translated by the store's methods that call these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from elasticsearch import BadRequestError, ConflictError, Elasticsearch, NotFoundError

from newsmon.errors import TransientError
from newsmon.signals import Versioned, check_hits, hit_id, millis

PAGE = 1000
_TRANSIENT = {429, 500, 502, 503, 504}


def _state_id(key: str) -> str:
    return f"state~{key}"


class EsSignals:
    def __init__(self, client: Elasticsearch, index: str) -> None:
        self._es, self.index = client, index

    def ensure(self) -> None:
        if self._es.indices.exists(index=self.index):
            return
        try:
            self._es.indices.create(index=self.index)
        except BadRequestError as exc:  # created meanwhile by another instance
            if "resource_already_exists" not in str(exc):
                raise

    def record_hits(self, series: str, hits: Sequence[Mapping[str, Any]]) -> int:
        checked = check_hits(hits)
        if not checked:
            return 0
        lines: list[bytes] = []
        for article_id, _, doc in checked:
            action = {"create": {"_index": self.index, "_id": hit_id(series, article_id)}}
            body = {**doc, "series": series, "kind": "hit"}
            lines.append(json.dumps(action).encode())
            lines.append(json.dumps(body, ensure_ascii=False, default=str).encode())
        resp = self._es.bulk(
            operations=b"\n".join(lines) + b"\n",  # type: ignore[arg-type]
            filter_path=["errors", "items.*.status"],
        )
        if not resp.get("errors"):
            return len(checked)
        statuses = [int(i.get("create", {}).get("status", 0)) for i in resp["items"]]
        failed = [s for s in statuses if s not in (201, 200, 409)]
        if failed:
            raise TransientError(f"elasticsearch signal write failed: HTTP {failed[0]}")
        return sum(1 for s in statuses if s in (200, 201))

    def hits(self, series: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
        query = {
            "bool": {
                "filter": [
                    {"term": {"series": series}},
                    {"term": {"kind": "hit"}},
                    {
                        "range": {
                            "at": {
                                "gte": millis(since),
                                "lt": millis(until),
                                "format": "epoch_millis",
                            }
                        }
                    },
                ]
            }
        }
        try:
            self._es.indices.refresh(index=self.index)
        except NotFoundError:
            return []
        out: list[dict[str, Any]] = []
        after: list[Any] | None = None
        while True:
            resp = self._es.search(
                index=self.index,
                query=query,
                size=PAGE,
                sort=[{"at": "asc"}, {"article_id": "asc"}],
                search_after=after,
            )
            page = resp["hits"]["hits"]
            for hit in page:
                doc = dict(hit["_source"])
                doc.pop("kind", None)
                out.append(doc)
            if len(page) < PAGE:
                return out
            after = page[-1]["sort"]

    def drop_hits(self, series: str, before: datetime) -> int:
        """Search and bulk-delete in pages (``_delete_by_query`` lives in the reindex module,
        which a bare Elasticsearch may not have)."""
        query = {
            "bool": {
                "filter": [
                    {"term": {"series": series}},
                    {"term": {"kind": "hit"}},
                    {"range": {"at": {"lt": millis(before), "format": "epoch_millis"}}},
                ]
            }
        }
        deleted = 0
        try:
            self._es.indices.refresh(index=self.index)
        except NotFoundError:
            return 0
        while True:
            resp = self._es.search(index=self.index, query=query, size=PAGE, source=False)
            ids = [h["_id"] for h in resp["hits"]["hits"]]
            if not ids:
                return deleted
            lines = [json.dumps({"delete": {"_index": self.index, "_id": i}}) for i in ids]
            self._es.bulk(
                operations="\n".join(lines) + "\n",  # type: ignore[arg-type]
                refresh=True,
                filter_path=["errors"],
            )
            deleted += len(ids)

    def get_state(self, key: str) -> Versioned | None:
        try:
            resp = self._es.get(index=self.index, id=_state_id(key))
        except NotFoundError:
            return None
        doc = dict(resp["_source"].get("state") or {})
        return Versioned(doc, f"{resp['_seq_no']}:{resp['_primary_term']}")

    def put_state(self, key: str, doc: Mapping[str, Any], version: str | None) -> str | None:
        body = {"kind": "state", "key": key, "state": dict(doc)}
        try:
            if version is None:
                resp = self._es.create(index=self.index, id=_state_id(key), document=body)
            else:
                seq, _, term = version.partition(":")
                if not (seq.isdigit() and term.isdigit()):
                    return None
                resp = self._es.index(
                    index=self.index,
                    id=_state_id(key),
                    document=body,
                    if_seq_no=int(seq),
                    if_primary_term=int(term),
                )
        except ConflictError:
            return None
        return f"{resp['_seq_no']}:{resp['_primary_term']}"
