"""The alerting service: match every tagged article against the rules (``newsmon alert``).

One alert per (rule, story). The ledger entry is created *before* sending (``status=pending``,
create-only with a deterministic id), then marked ``sent``. Consequences, deliberately:

* two workers, restarts and replays never double-send a ``sent`` alert: the create fails and the
  entry says sent;
* a crash between create and send leaves a ``pending`` entry; it is re-sent once its lease
  expired (the worker that owned it is gone), so no alert is lost. A crash *after* the send and
  before the ledger update can repeat that one delivery: at-least-once for that window only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from alert.rules import Rule, alert_id, match
from newsmon.bus import TAGGED_TOPIC, Record
from newsmon.documents import search_document
from newsmon.errors import PermanentError, TransientError
from newsmon.runtime import DeadLetter
from newsmon.schema import SchemaError, TaggedArticle, decode
from newsmon.store import ArticleStore

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)


def alert_payload(rule: Rule, doc: Mapping[str, Any], matched: list[str]) -> dict[str, Any]:
    """The webhook body (contract: rule, story_id, article_id, title, url, published, matched,
    actors)."""
    return {
        "rule": rule.name,
        "query": rule.query,
        "story_id": doc["story_id"],
        "article_id": doc["article_id"],
        "title": doc.get("title", ""),
        "url": doc.get("url", ""),
        "source": doc.get("source", ""),
        "published": doc.get("published"),
        "matched": matched,
        "actors": list(doc.get("actor", [])),
        "topics": list(doc.get("topic", [])),
    }


class AlertStage:
    name = "alert"
    topics = (TAGGED_TOPIC,)

    def __init__(
        self,
        store: ArticleStore,
        rules: Sequence[Rule],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._rules = list(rules)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._owner = uuid.uuid4().hex
        self.sent = 0
        self.suppressed = 0

    def handle(self, records: Sequence[Record]) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        for rec in records:
            try:
                article = decode(TaggedArticle, rec.value)
            except SchemaError as exc:
                letters.append(DeadLetter(rec, str(exc)))
                continue
            doc = search_document(article)
            for rule in self._rules:
                matched = match(rule, doc)
                if matched is not None:
                    self._deliver(rule, doc, matched)
        return letters

    def _deliver(self, rule: Rule, doc: Mapping[str, Any], matched: list[str]) -> None:
        aid = alert_id(rule.name, str(doc["story_id"]))
        payload = alert_payload(rule, doc, matched)
        now = self._clock()
        entry = {
            **payload,
            "status": "pending",
            "owner": self._owner,
            "created": now.isoformat(),
            "channels": [c.kind for c in rule.channels],
        }
        if not self._store.record_alert(aid, entry) and not self._may_resend(aid, now):
            self.suppressed += 1
            return
        errors = self._send_all(rule, payload)
        status = {"status": "failed", "error": "; ".join(errors)} if errors else {"status": "sent"}
        self._store.update_alert(aid, {**status, "sent": self._clock().isoformat()})
        self.sent += 0 if errors else 1
        log.info("alert rule=%s story=%s status=%s", rule.name, doc["story_id"], status["status"])

    def _may_resend(self, aid: str, now: datetime) -> bool:
        """An existing entry: resend only a pending one whose owner is gone (lease expired)."""
        existing = self._store.get_alert(aid)
        if existing is None or existing.get("status") != "pending":
            return False
        if existing.get("owner") == self._owner:
            return True  # our own earlier attempt in this process failed transiently
        created = datetime.fromisoformat(str(existing["created"]))
        if now - created < LEASE:
            raise TransientError(f"alert {aid} is pending at another worker; retry later")
        self._store.update_alert(aid, {"owner": self._owner, "created": now.isoformat()})
        return True

    def _send_all(self, rule: Rule, payload: Mapping[str, Any]) -> list[str]:
        errors: list[str] = []
        for channel in rule.channels:
            try:
                channel.send(payload)
            except PermanentError as exc:
                errors.append(str(exc))
        return errors
