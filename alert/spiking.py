"""Spike rules on the stream: hits and baselines kept in the store (see :mod:`alert.spikes`
for the arithmetic, :mod:`newsmon.signals` for the store operations).

For every article, in stream order, :meth:`SpikeTracker.article` first moves each spike rule's
*watermark* (the newest step of event time seen). When it enters a new step, the hits
gathered so far are written and their windows evaluated under the old watermark, then the
windows that became final are folded into the baseline and the rule's state is written
(compare-and-set). The article's hits are then gathered; :meth:`flush` (end of batch) writes
and evaluates them. Every decision therefore depends on the order of the stream, never on
where a batch ended, and the state read back after a restart is the state the last step
wrote: a restart, a redelivery or a second alerter changes nothing (hits are create-only;
the alert id is the rule plus the spike's first window, create-only in the ledger).

One alert per spike: a window that fires while the rule's current episode fired within the
last window length extends that episode (its ledger entry is updated with the larger count)
instead of alerting again.

A rule without a state (new, or changed: the series name carries a hash of the query, the
filters, the window and the unit) first *backfills*: its query runs over the store's articles
of the last ``backfill`` (28 days) and their windows are folded, so it can alert from the
start instead of warming up for a day.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from alert import metrics
from alert.ledger import event_time
from alert.rules import Rule, alert_id, match
from alert.spikes import (
    STEPS,
    Decision,
    SpikeSpec,
    SpikeState,
    Summary,
    decide,
    fold,
    publisher,
    summarize,
    timely,
    window_counts,
)
from alert.templates import local_time
from newsmon.errors import TransientError
from newsmon.store import ArticleStore

log = logging.getLogger(__name__)

MAX_FOLD = timedelta(days=28)  # a longer gap in the stream is not folded as empty windows
RETENTION = timedelta(days=2)  # hits kept behind the folded windows
SEARCH_LIMIT = 10_000  # articles per backfill search (Elasticsearch's result window)
CAS_ATTEMPTS = 5

Deliver = Callable[[Rule, str, dict[str, Any]], bool]


def series_of(rule: Rule) -> str:
    """The name of the rule's hits and state: its name and a hash of what it counts."""
    spec = _spec(rule)
    what = "\x00".join(
        [
            rule.query,
            ",".join(sorted(rule.topics)),
            ",".join(sorted(rule.actors)),
            str(spec.window.total_seconds()),
            spec.count,
        ]
    )
    return f"{rule.name}@{hashlib.sha256(what.encode()).hexdigest()[:8]}"


def _spec(rule: Rule) -> SpikeSpec:
    assert rule.spike is not None, rule.name
    return rule.spike


def hit_of(doc: Mapping[str, Any], matched: Sequence[str], when: datetime) -> dict[str, Any]:
    """What a spike rule keeps of a matching article."""
    from alert.fragments import fragments

    hit = {
        "article_id": doc["article_id"],
        "story_id": doc.get("story_id") or doc["article_id"],
        "at": when.isoformat(),
        "url": doc.get("url", ""),
        "title": doc.get("title", ""),
        "source": doc.get("source", ""),
        "published": doc.get("published"),
        "matched": list(matched),
        "actors": list(doc.get("actor") or [])[:10],
        "fragments": fragments(doc, matched),
    }
    hit["publisher"] = publisher(hit)
    return hit


class SpikeTracker:
    """The spike rules of one alert stage. ``deliver(rule, alert_id, payload)`` records and
    sends (or queues) a new alert, False if the ledger already had it."""

    def __init__(
        self,
        store: ArticleStore,
        rules: Sequence[Rule],
        deliver: Deliver,
        *,
        backfill: bool = True,
    ) -> None:
        self._store = store
        self._rules = [r for r in rules if r.kind == "spike"]
        self._deliver = deliver
        self._backfill = backfill
        self._series = {r.name: series_of(r) for r in self._rules}
        self._states: dict[str, tuple[SpikeState, str]] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {r.name: [] for r in self._rules}

    @property
    def rules(self) -> list[Rule]:
        return list(self._rules)

    # -- the stream ------------------------------------------------------------------------

    def article(
        self, doc: Mapping[str, Any], when: datetime, found: Sequence[tuple[Rule, list[str]]]
    ) -> None:
        """One article in stream order: move the watermarks, then gather its hits."""
        for rule in self._rules:
            self._advance(rule, when)
        for rule, matched in found:
            if rule.kind == "spike" and timely(doc, when, _spec(rule)):
                self._pending[rule.name].append(hit_of(doc, matched, when))

    def flush(self) -> None:
        """Write the gathered hits and evaluate their windows (end of a batch)."""
        for rule in self._rules:
            self._flush(rule)

    # -- state -----------------------------------------------------------------------------

    def _key(self, rule: Rule) -> str:
        return f"spike:{self._series[rule.name]}"

    def _state(self, rule: Rule, when: datetime) -> tuple[SpikeState, str]:
        cached = self._states.get(rule.name)
        if cached is not None:
            return cached
        stored = self._store.get_state(self._key(rule))
        if stored is None:
            fresh = self._backfilled(rule, when) if self._backfill else SpikeState()
            version = self._store.put_state(self._key(rule), fresh.to_doc(), None)
            if version is not None:
                self._states[rule.name] = (fresh, version)
                return self._states[rule.name]
            stored = self._store.get_state(self._key(rule))  # another alerter came first
            if stored is None:
                raise TransientError(f"spike state of rule {rule.name} cannot be read yet")
        self._states[rule.name] = (SpikeState.from_doc(stored.doc), stored.version)
        return self._states[rule.name]

    def _reload(self, rule: Rule) -> None:
        self._states.pop(rule.name, None)

    def _write(self, rule: Rule, change: Callable[[SpikeState], SpikeState | None]) -> SpikeState:
        """Apply ``change`` to the stored state with compare-and-set, re-reading on conflict;
        ``change`` returns None when there is nothing (left) to do."""
        for _ in range(CAS_ATTEMPTS):
            state, version = self._states[rule.name]
            new = change(state)
            if new is None:
                return state
            written = self._store.put_state(self._key(rule), new.to_doc(), version)
            if written is not None:
                self._states[rule.name] = (new, written)
                return new
            self._reload(rule)
            stored = self._store.get_state(self._key(rule))
            if stored is None:
                break
            self._states[rule.name] = (SpikeState.from_doc(stored.doc), stored.version)
        raise TransientError(f"spike state of rule {rule.name} kept changing under this worker")

    # -- watermark and baseline ------------------------------------------------------------

    def _advance(self, rule: Rule, when: datetime) -> None:
        spec = _spec(rule)
        tick = spec.tick(when)
        state, _ = self._state(rule, when)
        if state.watermark is not None and tick <= state.watermark:
            return
        self._flush(rule)
        before = self._states[rule.name][0].folded

        def step(current: SpikeState) -> SpikeState | None:
            if current.watermark is not None and tick <= current.watermark:
                return None
            return replace(self._folded(rule, current, tick - 2), watermark=tick)

        after = self._write(rule, step)
        if before is not None and after.folded is not None:
            self._prune(rule, before, after.folded)

    def _folded(self, rule: Rule, state: SpikeState, upto: int) -> SpikeState:
        spec = _spec(rule)
        if state.folded is None or upto <= state.folded:
            return fold(state, {}, upto, spec) if state.folded is None else state
        first = max(state.folded + 1, upto - int(MAX_FOLD.total_seconds() // spec.step))
        if first > state.folded + 1:
            log.warning(
                "spike rule=%s: %d windows without data skipped",
                rule.name,
                first - state.folded - 1,
            )
            state = replace(state, folded=first - 1)
        since, until = spec.bounds(first)[0], spec.bounds(upto)[1]
        hits = self._store.hits(self._series[rule.name], since, until)
        return fold(state, window_counts(hits, first, upto, spec), upto, spec)

    def _prune(self, rule: Rule, before: int, after: int) -> None:
        """Drop hits older than :data:`RETENTION` behind the folded windows, once a day."""
        spec = _spec(rule)
        if spec.start(before).date() == spec.start(after).date():
            return
        cut = spec.bounds(after)[0] - RETENTION
        self._store.drop_hits(self._series[rule.name], cut)

    # -- evaluation ------------------------------------------------------------------------

    def _flush(self, rule: Rule) -> None:
        pending, self._pending[rule.name] = self._pending[rule.name], []
        if not pending:
            return
        self._store.record_hits(self._series[rule.name], pending)
        spec = _spec(rule)
        state, _ = self._states[rule.name]
        if state.watermark is None:
            return
        low = -(2**62) if state.folded is None else state.folded
        live: set[int] = set()
        for hit in pending:
            tick = spec.tick(datetime.fromisoformat(hit["at"]))
            live.update(j for j in range(tick, tick + STEPS) if low < j <= state.watermark)
        for j in sorted(live):
            self._evaluate(rule, j)

    def _evaluate(self, rule: Rule, j: int) -> None:
        spec = _spec(rule)
        limit = self._states[rule.name][0].limits.get(j)
        if limit is None:
            return  # warming up: no baseline to compare with
        since, until = spec.bounds(j)
        summary = summarize(self._store.hits(self._series[rule.name], since, until), spec.count)
        decision = decide(summary, limit, spec)
        threshold = limit.of(spec.count)[0]
        metrics.SPIKE_COUNT.labels(rule.name).set(decision.count)
        metrics.SPIKE_THRESHOLD.labels(rule.name).set(threshold)
        if decision.fire:
            self._fire(rule, j, summary, decision)
        elif decision.count > threshold:
            metrics.SPIKE_GATED.labels(rule.name).inc()
            log.info(
                "spike gated rule=%s window=%s reason=%s",
                rule.name,
                since.isoformat(),
                decision.reason,
            )

    def _fire(self, rule: Rule, j: int, summary: Summary, decision: Decision) -> None:
        spec = _spec(rule)
        episode = self._states[rule.name][0].episode
        payload = spike_payload(rule, j, summary, decision)
        if episode is not None and int(episode["first"]) <= j <= int(episode["last"]) + STEPS:
            if decision.count > int(episode.get("count", 0)):
                grown = {k: payload[k] for k in ("spike", "stories", "top_sources", "summary")}
                self._store.update_alert(str(episode["id"]), grown)
            self._write(rule, lambda s: _extended(s, j, decision.count))
            return
        aid = alert_id(rule.name, f"spike@{spec.bounds(j)[0].isoformat()}")
        if self._deliver(rule, aid, payload):
            metrics.SPIKES.labels(rule.name).inc()
            log.warning("spike rule=%s %s", rule.name, payload["summary"])
        new = {"id": aid, "first": j, "last": j, "count": decision.count}
        self._write(rule, lambda s: None if _covers(s.episode, j) else replace(s, episode=new))

    # -- backfill --------------------------------------------------------------------------

    def rebuild(self, rule: Rule, until: datetime) -> SpikeState:
        """Replace the rule's state with one backfilled from the store up to ``until``
        (``newsmon alerts backfill``); the episode in progress, if any, is kept."""
        fresh = self._backfilled(rule, until)
        for _ in range(CAS_ATTEMPTS):
            stored = self._store.get_state(self._key(rule))
            episode = stored.doc.get("episode") if stored else None
            new = replace(fresh, episode=episode)
            version = self._store.put_state(
                self._key(rule), new.to_doc(), stored.version if stored else None
            )
            if version is not None:
                self._states[rule.name] = (new, version)
                return new
        raise TransientError(f"spike state of rule {rule.name} kept changing")

    def _backfilled(self, rule: Rule, until: datetime) -> SpikeState:
        """A state whose baseline comes from the store's articles of the last ``backfill``."""
        spec = _spec(rule)
        if spec.backfill <= timedelta(0):
            return SpikeState()
        last = spec.tick(until) - 2
        start = first_stored(self._store, until - spec.backfill, until)
        if start is None:
            return SpikeState()
        first = spec.tick(start) + STEPS - 1
        if first > last:
            return SpikeState()
        docs = search_range(self._store, rule.query, spec.bounds(first)[0], spec.bounds(last)[1])
        hits = []
        for doc in docs:
            matched = match(rule, doc)
            when = event_time(doc, until)
            if matched is not None and timely(doc, when, spec):
                hits.append(hit_of(doc, matched, when))
        state = fold(
            SpikeState(folded=first - 1), window_counts(hits, first, last, spec), last, spec
        )
        recent = spec.bounds(last - STEPS)[0]
        self._store.record_hits(
            self._series[rule.name], [h for h in hits if datetime.fromisoformat(h["at"]) >= recent]
        )
        log.info(
            "spike rule=%s baseline backfilled windows=%d articles=%d",
            rule.name,
            last - first + 1,
            len(hits),
        )
        return replace(state, watermark=last + 1)


def _covers(episode: Mapping[str, Any] | None, j: int) -> bool:
    return episode is not None and int(episode["first"]) <= j <= int(episode["last"]) + STEPS


def _extended(state: SpikeState, j: int, count: int) -> SpikeState | None:
    episode = dict(state.episode or {})
    if not episode:
        return None
    last, peak = int(episode["last"]), int(episode.get("count", 0))
    if j <= last and count <= peak:
        return None
    episode.update(last=max(last, j), count=max(peak, count))
    return replace(state, episode=episode)


def spike_payload(rule: Rule, j: int, summary: Summary, decision: Decision) -> dict[str, Any]:
    """The alert of a spike: the contract fields from its leading story, and the numbers."""
    spec = _spec(rule)
    start, end = spec.bounds(j)
    lines = [line.as_dict() for line in summary.lines[: spec.top]]
    top = lines[0] if lines else {}
    matched = list(dict.fromkeys(t for line in lines for t in line["matched"]))
    actors: Counter[str] = Counter(
        a for line in summary.lines for a in (line.first.get("actors") or [])
    )
    window = _span(spec.window)
    summary_text = (
        f"{decision.count} {spec.count} from {decision.publishers} publishers in {window} "
        f"(usual {decision.usual or 0:.1f}, threshold {decision.threshold or 0:.1f})"
    )
    return {
        "kind": "spike",
        "rule": rule.name,
        "query": rule.query,
        "story_id": top.get("story_id", ""),
        "article_id": top.get("article_id", ""),
        "title": top.get("title", ""),
        "url": top.get("url", ""),
        "source": top.get("source", ""),
        "published": top.get("published"),
        "time": local_time(start.isoformat(), rule.timezone),
        "timezone": rule.timezone.key,
        "matched": matched,
        "actors": [a for a, _ in actors.most_common(5)],
        "topics": [],
        "fragments": top.get("fragments") or {},
        "summary": summary_text,
        "spike": {
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "window": window,
            "unit": spec.count,
            "count": decision.count,
            "usual": round(decision.usual or 0.0, 2),
            "threshold": round(decision.threshold or 0.0, 2),
            "k": spec.k,
            "publishers": decision.publishers,
            "min_publishers": spec.min_publishers,
            "stories": summary.stories,
            "articles": summary.articles,
        },
        "stories": lines,
        "top_sources": [{"source": s, "count": n} for s, n in summary.sources[:10]],
    }


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def first_stored(store: ArticleStore, since: datetime, until: datetime) -> datetime | None:
    """The start of the first day in [since, until) holding any article (by ``fetched``):
    where the store's history begins (before it, windows are unknown, not empty)."""
    day = since
    while day < until:
        nxt = min(day + timedelta(days=1), until)
        if store.count(_fetched(day, nxt)) > 0:
            return day
        day = nxt
    return None


def search_range(
    store: ArticleStore, query: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Every stored article matching ``query`` fetched in [since, until): a day per search,
    halved while a search has more than :data:`SEARCH_LIMIT` (down to an hour)."""
    out: list[dict[str, Any]] = []
    day = since
    while day < until:
        nxt = min(day + timedelta(days=1), until)
        out.extend(_search_part(store, query, day, nxt))
        day = nxt
    return out


def _search_part(
    store: ArticleStore, query: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    result = store.search(f"({query}) AND {_fetched(since, until)}", limit=SEARCH_LIMIT)
    if result.total <= len(result.hits) or until - since <= timedelta(hours=1):
        return result.hits
    middle = since + (until - since) / 2
    return _search_part(store, query, since, middle) + _search_part(store, query, middle, until)


def _fetched(since: datetime, until: datetime) -> str:
    def iso(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    return f"fetched:[{iso(since)} TO {iso(until)}}}"
