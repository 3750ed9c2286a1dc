"""Silences: a rule that sends nothing until a given time, shared by every alert worker.

In the core because the alert stage (which obeys them), ``newsmon alerts silence`` and the
analyst page (``newsmon web``, which sets and shows them) all read and write them.

A silence is a ledger entry (``kind=silence``, id ``silence~<rule>``) in the store the workers
already share, so ``newsmon alerts silence`` takes effect on every worker within
:data:`REFRESH` without a restart or a rules-file edit. Matches during a silence are not
recorded (metric ``suppressed{reason=silenced}``): a story still running after the silence
ends alerts then.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from newsmon.store import ArticleStore

REFRESH = timedelta(seconds=10)


def silence_id(rule: str) -> str:
    return f"silence~{rule}"


def silence(store: ArticleStore, rule: str, until: datetime, reason: str, now: datetime) -> None:
    doc: dict[str, Any] = {
        "kind": "silence",
        "rule": rule,
        "status": "active",
        "until": until.isoformat(),
        "reason": reason,
        "created": now.isoformat(),
    }
    if not store.record_alert(silence_id(rule), doc):
        store.update_alert(silence_id(rule), doc)


def unsilence(store: ArticleStore, rule: str, now: datetime) -> bool:
    """Lift the silence; False if the rule had none in force."""
    entry = store.get_alert(silence_id(rule))
    if entry is None or not in_force(entry, now):
        return False
    store.update_alert(silence_id(rule), {"status": "lifted", "until": now.isoformat()})
    return True


def in_force(entry: dict[str, Any], now: datetime) -> bool:
    return entry.get("status") == "active" and datetime.fromisoformat(str(entry["until"])) > now


def active(store: ArticleStore, now: datetime) -> dict[str, datetime]:
    """Rule name → end of its silence, for the silences in force at ``now``."""
    return {
        str(e["rule"]): datetime.fromisoformat(str(e["until"]))
        for e in store.alerts({"kind": "silence"})
        if in_force(e, now)
    }


class SilenceCache:
    """The silences in force, re-read from the store at most every :data:`REFRESH`."""

    def __init__(self, store: ArticleStore) -> None:
        self._store = store
        self._until: dict[str, datetime] = {}
        self._read_at: datetime | None = None

    def silenced(self, rule: str, now: datetime) -> bool:
        if self._read_at is None or now - self._read_at >= REFRESH:
            self._until, self._read_at = active(self._store, now), now
        end = self._until.get(rule)
        return end is not None and end > now
