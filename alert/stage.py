"""The alerting service: match every tagged article against the rules (``newsmon alert``).

One alert per (rule, story) per realert window, recorded *before* sending: the ledger entry
(see :mod:`alert.ledger`) is created ``pending`` with a deterministic id (create-only), the
channels are tried, each channel's outcome is written to the entry as it happens, then the
entry is marked ``sent`` / ``partial`` / ``failed``. Consequences, deliberately:

* two workers, restarts and replays never double-send: only the creator of an entry sends it;
  everyone else finds it and suppresses (or, for a new article of the story, updates it);
* a channel that succeeded is never re-sent: a retry only tries channels still ``pending``;
* a transient channel failure keeps the entry ``pending`` and raises :class:`TransientError`,
  so the batch is not committed and is retried with back-off; after :data:`MAX_ROUNDS` rounds
  spanning at least :data:`RETRY_FOR` the channel is marked failed and the stream moves on;
* a worker that dies mid-send leaves a ``pending`` entry with a lease (longer than the worst
  case of the rule's channels). Whoever handles the uncommitted record next waits
  (TransientError) until the lease ends, then claims the entry — the claim is itself a
  create-only ledger entry ``<id>~lease<n>``, so exactly one worker takes over — and sends
  the channels not yet recorded as sent. A retry of the sender's own pending entry claims a
  new epoch the same way, so it and a worker that saw the lease run out (the story's other
  articles reach other workers) never both send. No alert is lost. The one repeat possible is a
  channel that delivered but whose outcome was not recorded before the crash: receivers can
  drop it by the delivery id (``X-Newsmon-Delivery`` / ``Message-ID`` = ledger id).

Digest rules record matches as ``queued`` entries (same dedup); :meth:`AlertStage.tick`
(called after every batch) sends one digest per rule and period once the period has ended,
under the same create-only + lease scheme (id from the rule and the period); a digest another
worker is sending is looked at again at each tick until it is sent, or claimed once its lease
ran out. With ``immediate: true`` an alert is sent at once *and* a queued copy joins the
digest.

Spike rules count instead of alerting per story (:mod:`alert.spiking`); the stage also
consumes ``news.health.v1``, the poller's feed-health changes, and routes them to the health
rules (:mod:`alert.healthroute`). All three kinds deliver through the same ledger path.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from alert import metrics
from alert.healthroute import HealthRouter
from alert.ledger import alert_payload as alert_payload  # re-export (older imports)
from alert.ledger import (
    delivery_fields,
    digest_copy,
    event_time,
    grown,
    in_window,
    new_entry,
    payload_of,
)
from alert.matching import RuleIndex
from alert.rules import Rule, alert_id, operator_rule
from alert.schedule import period_of, previous_period
from alert.silences import SilenceCache
from alert.spiking import SpikeTracker
from newsmon.bus import HEALTH_TOPIC, TAGGED_TOPIC, Record
from newsmon.documents import search_document
from newsmon.errors import PermanentError, TransientError
from newsmon.query import prepare
from newsmon.runtime import DeadLetter, decode_records
from newsmon.schema import FeedHealth, TaggedArticle
from newsmon.store import ArticleStore

log = logging.getLogger(__name__)

MAX_ROUNDS = 5
#: ... and not before a channel has failed for this long: a webhook that is down for seconds
#: (a deploy, a restart) never costs an alert, whatever the back-off between rounds
RETRY_FOR = timedelta(seconds=60)
DIGEST_GRACE = timedelta(seconds=30)


class AlertStage:
    name = "alert"
    topics = (TAGGED_TOPIC, HEALTH_TOPIC)

    def __init__(
        self,
        store: ArticleStore,
        rules: Sequence[Rule],
        clock: Callable[[], datetime] | None = None,
        *,
        backfill: bool = True,
    ) -> None:
        self._store = store
        self._rules = list(rules)
        if not any(r.kind == "health" for r in self._rules):
            self._rules.append(operator_rule())
        self._index = RuleIndex([r for r in self._rules if r.kind != "health"])
        self._spikes = SpikeTracker(store, self._rules, self._deliver, backfill=backfill)
        self._health = HealthRouter(store, self._rules, self._deliver)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._owner = uuid.uuid4().hex
        self._silences = SilenceCache(store)
        self._digested: set[tuple[str, str]] = set()
        self.sent = 0
        self.suppressed = 0

    # -- the stream ---------------------------------------------------------------------------

    def handle(self, records: Sequence[Record]) -> list[DeadLetter]:
        articles = [r for r in records if r.topic != HEALTH_TOPIC]
        decoded, letters = decode_records(TaggedArticle, articles)
        for _, article in decoded:
            doc = search_document(article)
            started = time.perf_counter()
            found = self._index.matches(prepare(doc))
            metrics.MATCH_SECONDS.observe(time.perf_counter() - started)
            self._spikes.article(doc, event_time(doc, self._clock()), found)
            for rule, matched in found:
                metrics.MATCHES.labels(rule.name).inc()
                if rule.kind == "match":
                    self._on_match(rule, doc, matched)
        self._spikes.flush()
        events, bad = decode_records(FeedHealth, [r for r in records if r.topic == HEALTH_TOPIC])
        for _, event in events:
            self._health.handle(event)
        self.tick()
        return letters + bad

    def _suppress(self, rule: Rule, reason: str) -> None:
        self.suppressed += 1
        metrics.SUPPRESSED.labels(rule.name, reason).inc()

    def _on_match(self, rule: Rule, doc: Mapping[str, Any], matched: list[str]) -> None:
        now = self._clock()
        if self._silences.silenced(rule.name, now):
            self._suppress(rule, "silenced")
            return
        when, story = event_time(doc, now), str(doc["story_id"])
        generation = 0
        while True:
            aid = alert_id(rule.name, story, generation)
            entry = self._store.get_alert(aid)
            if entry is None:
                period = self._queued_period(rule, now)
                fresh = new_entry(rule, doc, matched, generation=generation, window_start=when,
                                  owner=self._owner, now=now, period=period)
                if self._create(rule, aid, fresh, now):
                    if period is None:
                        self._send(rule, aid, fresh)
                    return
                entry = self._store.get_alert(aid)
                if entry is None:
                    raise TransientError(f"alert {aid} exists but cannot be read yet")
            if in_window(rule, entry, when):
                self._existing(rule, aid, entry, doc)
                return
            generation += 1

    def _existing(self, rule: Rule, aid: str, entry: dict[str, Any],
                  doc: Mapping[str, Any]) -> None:
        if entry.get("status") == "pending":
            self._resume(rule, aid, entry)
            return
        update = grown(entry, doc)
        if update is not None:
            self._store.update_alert(aid, update)
        self._suppress(rule, "realert" if update is not None else "replay")

    # -- delivery -----------------------------------------------------------------------------

    def _queued_period(self, rule: Rule, now: datetime) -> str | None:
        """The digest period a new alert of ``rule`` waits for, or None: sent at once."""
        if rule.digest is None or rule.immediate:
            return None
        return period_of(rule.digest, rule.timezone, now).key

    def _create(self, rule: Rule, aid: str, entry: dict[str, Any], now: datetime) -> bool:
        """Create the ledger entry (False if it exists); for ``immediate`` digest rules its
        queued copy first, so a crash between the two never loses the digest's copy."""
        if rule.digest is not None and rule.immediate:
            period = period_of(rule.digest, rule.timezone, now).key
            self._store.record_alert(f"{aid}~digest", digest_copy(entry, period, now))
        return self._store.record_alert(aid, entry)

    def _deliver(self, rule: Rule, aid: str, payload: dict[str, Any]) -> bool:
        """A spike or health alert: recorded once under ``aid``, then sent (or queued for its
        digest). False when the ledger already had it (its delivery is resumed if pending)."""
        now = self._clock()
        if self._silences.silenced(rule.name, now):
            self._suppress(rule, "silenced")
            return False
        period = self._queued_period(rule, now)
        entry = {**payload, **delivery_fields(rule, self._owner, now, period)}
        if not self._create(rule, aid, entry, now):
            existing = self._store.get_alert(aid)
            if existing is not None and existing.get("status") == "pending":
                self._resume(rule, aid, existing)
            else:
                self._suppress(rule, "replay")
            return False
        if period is None:
            self._send(rule, aid, entry)
        return True

    def _resume(self, rule: Rule, aid: str, entry: dict[str, Any]) -> None:
        """A pending entry: another live worker's (wait), or ours from an earlier try, or
        orphaned: claimed anew, then the channels not sent yet are sent."""
        now = self._clock()
        if entry.get("owner") != self._owner and now < _lease_end(entry):
            self._suppress(rule, "pending")
            raise TransientError(f"alert {aid} is being sent by another worker; retry later")
        self._send(rule, aid, self._claim(rule, aid, entry, now))

    def _claim(self, rule: Rule, aid: str, entry: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Every try after the first sends under a new lease epoch, claimed with a create-only
        ledger entry ``<id>~lease<n>``: of two workers that read the same pending entry — our
        own retry and another worker that saw its lease run out, say — exactly one wins, so a
        channel is never sent by both. TransientError for the one that lost."""
        epoch = int(entry.get("lease_epoch", 0)) + 1
        claim_id = f"{aid}~lease{epoch}"
        claim = {"kind": "lease", "rule": rule.name, "owner": self._owner,
                 "created": now.isoformat()}
        if not self._store.record_alert(claim_id, claim):
            held = self._store.get_alert(claim_id)  # ours, if an earlier try got this far
            if held is None or held.get("owner") != self._owner:
                raise TransientError(f"alert {aid} was claimed by another worker; retry later")
        lease = {"owner": self._owner, "lease_epoch": epoch,
                 "lease_until": (now + rule.lease).isoformat()}
        self._store.update_alert(aid, lease)
        if entry.get("owner") != self._owner:
            log.warning("alert claimed rule=%s id=%s epoch=%d", rule.name, aid, epoch)
        return {**entry, **lease}

    def _send(self, rule: Rule, aid: str, entry: dict[str, Any],
              payload: Mapping[str, Any] | None = None) -> None:
        payload = payload or {**payload_of(entry), "alert_id": aid}
        deliveries: dict[str, Any] = dict(entry.get("deliveries") or {})
        retry: list[str] = []
        for i, channel in enumerate(rule.channels):
            label = getattr(channel, "label", channel.kind)
            if deliveries.get(str(i), {}).get("status") in ("sent", "failed"):
                continue
            outcome: dict[str, Any] = {"channel": label, "status": "sent"}
            try:
                channel.send(payload)
            except PermanentError as exc:
                outcome = {"channel": label, "status": "failed", "error": str(exc)}
            except TransientError as exc:
                outcome = {"channel": label, "status": "pending", "error": str(exc)}
                retry.append(str(exc))
            metrics.DELIVERIES.labels(rule.name, label, {"pending": "retry"}.get(
                outcome["status"], outcome["status"])).inc()
            deliveries[str(i)] = outcome
            self._store.update_alert(aid, {"deliveries": deliveries})
        rounds = int(entry.get("rounds", 0)) + (1 if retry else 0)
        if retry:
            now = self._clock()
            since = entry.get("retrying_since") or now.isoformat()
            if rounds < MAX_ROUNDS or now - datetime.fromisoformat(since) < RETRY_FOR:
                self._store.update_alert(aid, {"rounds": rounds, "retrying_since": since})
                raise TransientError(f"alert {aid} not delivered yet: {retry[0]}")
        self._finish(rule, aid, deliveries, rounds)

    def _finish(self, rule: Rule, aid: str, deliveries: dict[str, Any], rounds: int) -> None:
        for outcome in deliveries.values():
            if outcome["status"] == "pending":
                outcome["status"] = "failed"  # gave up after MAX_ROUNDS
        states = {d["status"] for d in deliveries.values()} or {"sent"}
        status = "sent" if states == {"sent"} else "failed" if "sent" not in states else "partial"
        errors = "; ".join(d["error"] for d in deliveries.values() if d.get("error"))
        fields = {"status": status, "deliveries": deliveries, "rounds": rounds,
                  "sent": self._clock().isoformat()}
        self._store.update_alert(aid, {**fields, **({"error": errors} if errors else {})})
        if status != "failed":
            self.sent += 1
            metrics.SENT.inc()
        log.info("alert rule=%s id=%s status=%s", rule.name, aid, status)

    # -- digests ------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> None:
        """Send the digests of periods that ended (``DIGEST_GRACE`` ago)."""
        now = now or self._clock()
        for rule in self._rules:
            if rule.digest is None:
                continue
            period = previous_period(rule.digest, rule.timezone, now - DIGEST_GRACE)
            if (rule.name, period.key) not in self._digested and self._flush_digest(
                rule, period.key, now
            ):
                self._digested.add((rule.name, period.key))

    def _flush_digest(self, rule: Rule, period: str, now: datetime) -> bool:
        """Send the period's digest unless it is sent or nothing is queued: True once settled;
        False while another live worker is sending it (asked again at the next tick, and
        claimed when its lease has run out)."""
        did = alert_id(rule.name, f"digest@{period}")
        entry = self._store.get_alert(did)
        if entry is None:
            items = [e for e in self._store.alerts({"rule": rule.name, "status": "queued"})
                     if str(e.get("period", "")) <= period]
            if not items:
                return True
            items.sort(key=lambda e: str(e.get("created", "")))
            entry = {"kind": "digest", "rule": rule.name, "period": period, "status": "pending",
                     "owner": self._owner, "lease_until": (now + rule.lease).isoformat(),
                     "lease_epoch": 0, "created": now.isoformat(), "deliveries": {},
                     "rounds": 0, "articles": [str(e["alert_id"]) for e in items]}
            if not self._store.record_alert(did, entry):
                return False  # another worker is sending this digest: see it at the next tick
            for item in items:  # they belong to this digest now, sent or not yet
                self._store.update_alert(str(item["alert_id"]), {"status": "digested"})
        elif entry.get("status") != "pending":
            return True
        elif entry.get("owner") != self._owner and now < _lease_end(entry):
            return False
        else:
            try:
                entry = self._claim(rule, did, entry, now)
            except TransientError:
                return False
        self._send_digest(rule, did, entry)
        return True

    def _send_digest(self, rule: Rule, did: str, entry: dict[str, Any]) -> None:
        members = [self._store.get_alert(a) for a in entry.get("articles", [])]
        items = [payload_of(m) for m in members if m is not None]
        payload = {"kind": "digest", "rule": rule.name, "period": entry["period"],
                   "timezone": rule.timezone.key, "items": items, "alert_id": did}
        self._send(rule, did, entry, payload)


def _lease_end(entry: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["lease_until"]))
