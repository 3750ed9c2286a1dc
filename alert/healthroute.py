"""Feed health to the operator: the poller's :class:`~newsmon.schema.FeedHealth` changes
(topic ``news.health.v1``) routed to the rules of ``kind: health``.

The poller detects (it sees the HTTP answers) and publishes each change once it is decided;
this stage only routes, so ingest and alert stay apart and share only the core's message
schema and bus. Per (rule, feed, signal) one alert per episode: a ``problem`` opens an
episode and alerts, later ``problem`` messages of the same episode (redelivery, a second
alert worker) are dropped, ``resolved`` closes it — and with ``resolved: true`` on the rule
says so. The episode state is a store state (compare-and-set), keyed by rule, feed and
signal; its ``since`` (when the signal began, as the poller stamped it) tells a redelivered
old message from a new episode. With no health rule configured, signals go to the log
(:func:`alert.rules.operator_rule`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from alert import metrics
from alert.rules import Rule, alert_id
from alert.templates import local_time
from newsmon.errors import TransientError
from newsmon.schema import FeedHealth
from newsmon.store import ArticleStore

log = logging.getLogger(__name__)

Deliver = Callable[[Rule, str, dict[str, Any]], bool]
CAS_ATTEMPTS = 5

TITLES = {
    "silent": "has gone silent",
    "blocked": "is refusing the poller (403/429)",
    "challenge": "serves an anti-bot challenge instead of its feed",
    "html": "serves a web page instead of its feed",
    "same_link": "lists every item with the same link",
    "gone": "is gone (HTTP 410)",
}


def health_payload(rule: Rule, event: FeedHealth) -> dict[str, Any]:
    """The operator alert: the contract fields (``story_id``/``article_id`` empty, ``url``
    the feed, ``matched`` the signal) plus the signal's own."""
    name = event.name or event.feed
    what = TITLES.get(event.signal, event.signal)
    title = f"Feed {name} {what}"
    if event.state == "resolved":
        title = f"Feed {name} recovered ({event.signal} since {event.since:%Y-%m-%d %H:%M} UTC)"
    return {
        "kind": "health",
        "rule": rule.name,
        "query": "",
        "story_id": "",
        "article_id": "",
        "title": title,
        "url": event.feed,
        "source": name,
        "published": event.since.isoformat(),
        "time": local_time(event.at.isoformat(), rule.timezone),
        "timezone": rule.timezone.key,
        "matched": [event.signal],
        "actors": [],
        "topics": [],
        "feed": event.feed,
        "feed_name": name,
        "signal": event.signal,
        "state": event.state,
        "since": event.since.isoformat(),
        "detail": event.detail,
        "http_status": event.http_status,
        "summary": event.detail,
    }


class HealthRouter:
    def __init__(self, store: ArticleStore, rules: Sequence[Rule], deliver: Deliver) -> None:
        self._store = store
        self._rules = [r for r in rules if r.kind == "health"]
        self._deliver = deliver

    @property
    def rules(self) -> list[Rule]:
        return list(self._rules)

    def handle(self, event: FeedHealth) -> None:
        metrics.HEALTH_EVENTS.labels(event.signal, event.state).inc()
        for rule in self._rules:
            if rule.signals and event.signal not in rule.signals:
                continue
            if event.state == "problem":
                self._problem(rule, event)
            else:
                self._resolved(rule, event)

    def _key(self, rule: Rule, event: FeedHealth) -> str:
        digest = hashlib.sha256(f"{event.feed}\x00{event.signal}".encode()).hexdigest()[:24]
        return f"health:{rule.name}:{digest}"

    def _problem(self, rule: Rule, event: FeedHealth) -> None:
        since = event.since.isoformat()
        for _ in range(CAS_ATTEMPTS):
            stored = self._store.get_state(self._key(rule, event))
            state = stored.doc if stored else {}
            if state.get("since", "") >= since:
                return  # this episode (or a later one) is known: a redelivery
            generation = int(state.get("generation", -1)) + 1
            aid = alert_id(rule.name, f"health:{event.feed}\x00{event.signal}", generation)
            self._deliver(rule, aid, health_payload(rule, event))
            doc = {"generation": generation, "open": True, "since": since, "alert_id": aid}
            version = stored.version if stored else None
            if self._store.put_state(self._key(rule, event), doc, version) is not None:
                return
        raise TransientError(f"health state of rule {rule.name} kept changing")

    def _resolved(self, rule: Rule, event: FeedHealth) -> None:
        since = event.since.isoformat()
        for _ in range(CAS_ATTEMPTS):
            stored = self._store.get_state(self._key(rule, event))
            if stored is None or not stored.doc.get("open") or stored.doc.get("since") != since:
                return  # nothing open for this episode (or already closed)
            aid = str(stored.doc["alert_id"])
            self._store.update_alert(aid, {"resolved": event.at.isoformat()})
            if rule.resolved:
                self._deliver(rule, f"{aid}~resolved", health_payload(rule, event))
            doc = {**stored.doc, "open": False, "resolved": event.at.isoformat()}
            if self._store.put_state(self._key(rule, event), doc, stored.version) is not None:
                return
        raise TransientError(f"health state of rule {rule.name} kept changing")
