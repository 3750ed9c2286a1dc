"""Dead letters: list, show and replay what a stage could never handle (``newsmon deadletter``).

The runtime writes each poison record to ``news.deadletter.v1`` with its original key, value
and headers plus ``error``, ``stage``, ``attempts``, ``source_topic``, ``source_partition`` and
``source_offset`` (:func:`newsmon.runtime.dead_letter`). A letter is named by its place in the
dead-letter topic, ``PARTITION:OFFSET``.

Replay semantics (after a fix is deployed):

* ``replay --stage S`` re-publishes every letter of stage ``S`` not replayed before to its
  ``source_topic``, same key and value, original headers, ``attempts`` incremented and
  ``replayed_from`` = the letter's ``PARTITION:OFFSET``. Without ``--stage``: each known stage
  in turn.
* "Not replayed before" is the position of the consumer group ``newsmon-deadletter-replay-S``
  on the dead-letter topic (one group per stage, so replaying one stage never skips another's
  letters). The group commits only after the broker acknowledged every re-published record: a
  crash in between replays those letters again, which is harmless because every stage is
  idempotent by ``article_id`` (at-least-once, like everything else).
* A replayed record that fails again is dead-lettered again, as a *new* letter carrying the
  higher ``attempts``; the next replay picks it up.
* ``index`` and ``alert`` both read the tagged topic: replaying a letter of one of them
  delivers the record to both; the other one finds it already done (create-only writes, the
  alert ledger) and does nothing.
* ``list``/``show``/``--dry-run`` read with a throw-away group and never commit.

On the in-memory bus the same functions work within one process (tests, the embedded runner);
the CLI on ``memory://`` sees an empty topic, as the bus lives only as long as its process.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from newsmon.bus import DEADLETTER_TOPIC, Bus, Consumer, Record

#: Stages that consume and therefore dead-letter (ingest publishes only).
STAGES = ("process", "index", "alert")
#: Headers the runtime adds when dead-lettering; stripped again on replay.
LETTER_HEADERS = frozenset(
    {"error", "stage", "attempts", "source_topic", "source_partition", "source_offset"}
)
REPLAY_GROUP = "newsmon-deadletter-replay-{stage}"
READ_TIMEOUT = 15.0


@dataclass(frozen=True)
class Letter:
    """One record of the dead-letter topic, decoded."""

    partition: int
    offset: int
    key: str | None
    value: bytes
    stage: str
    error: str
    attempts: int
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    headers: Mapping[str, bytes] = field(default_factory=dict)

    @classmethod
    def from_record(cls, rec: Record) -> Letter:
        h = rec.headers
        return cls(
            partition=rec.partition,
            offset=rec.offset,
            key=rec.key,
            value=rec.value,
            stage=_text(h.get("stage")),
            error=_text(h.get("error")),
            attempts=_int(h.get("attempts")) or 1,
            source_topic=_text(h.get("source_topic")),
            source_partition=_int(h.get("source_partition")),
            source_offset=_int(h.get("source_offset")),
            headers=dict(h),
        )

    @property
    def ref(self) -> str:
        return f"{self.partition}:{self.offset}"

    def replay_headers(self) -> dict[str, bytes]:
        kept = {k: v for k, v in self.headers.items() if k not in LETTER_HEADERS}
        attempts = str(self.attempts + 1).encode()
        return {**kept, "attempts": attempts, "replayed_from": self.ref.encode()}

    def summary(self, *, with_value: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ref": self.ref,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "stage": self.stage,
            "attempts": self.attempts,
            "source_topic": self.source_topic,
            "source_partition": self.source_partition,
            "source_offset": self.source_offset,
            "error": self.error,
            "bytes": len(self.value),
        }
        if with_value:
            out["value"] = _value(self.value)
        return out


@dataclass
class ReplayReport:
    """Per stage: letters replayed (or, in a dry run, that would be)."""

    dry_run: bool = False
    replayed: dict[str, list[Letter]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.replayed.values())


def read_pending(consumer: Consumer, timeout: float = READ_TIMEOUT) -> list[Record]:
    """Every record after the group's committed position, as of now. Stops once the lag
    measured at the start is read, or after ``timeout`` (a group join can take seconds)."""
    expected = consumer.lag()
    out: list[Record] = []
    deadline = time.monotonic() + timeout
    while len(out) < expected and time.monotonic() < deadline:
        out.extend(consumer.poll(max_records=500, timeout=0.5))
    return out


def letters(
    bus: Bus, *, stage: str | None = None, limit: int | None = None, timeout: float = READ_TIMEOUT
) -> list[Letter]:
    """Dead letters in topic order (per partition), optionally of one stage, at most ``limit``."""
    group = f"newsmon-deadletter-browse-{uuid.uuid4().hex[:12]}"
    consumer = bus.consumer(group, [DEADLETTER_TOPIC])
    try:
        found = [Letter.from_record(r) for r in read_pending(consumer, timeout)]
    finally:
        consumer.close()
    found.sort(key=lambda lt: (lt.partition, lt.offset))
    chosen = [lt for lt in found if stage is None or lt.stage == stage]
    return chosen if limit is None else chosen[:limit]


def find(found: Iterable[Letter], ref: str) -> list[Letter]:
    """Letters named by ``PARTITION:OFFSET``, by ``OFFSET`` (any partition) or by key."""
    part, sep, off = ref.partition(":")
    if sep and part.isdigit() and off.isdigit():
        return [lt for lt in found if (lt.partition, lt.offset) == (int(part), int(off))]
    found = list(found)
    if ref.isdigit():
        by_offset = [lt for lt in found if lt.offset == int(ref)]
        if by_offset:
            return by_offset
    return [lt for lt in found if lt.key == ref]


def replay(
    bus: Bus,
    stage: str | None = None,
    *,
    dry_run: bool = False,
    timeout: float = READ_TIMEOUT,
) -> ReplayReport:
    """Re-publish the letters not replayed before, of ``stage`` or of every known stage."""
    report = ReplayReport(dry_run=dry_run)
    for name in (stage,) if stage else STAGES:
        report.replayed[name] = _replay_stage(bus, name, dry_run, timeout)
    return report


def _replay_stage(bus: Bus, stage: str, dry_run: bool, timeout: float) -> list[Letter]:
    # a dry run reads as the real group (so it sees exactly what a replay would) but never
    # commits; do not run two replays of one stage at the same time
    consumer = bus.consumer(REPLAY_GROUP.format(stage=stage), [DEADLETTER_TOPIC])
    try:
        pending = [Letter.from_record(r) for r in read_pending(consumer, timeout)]
        mine = [lt for lt in pending if lt.stage == stage and lt.source_topic]
        if dry_run:
            return mine
        for lt in mine:
            bus.publish(lt.source_topic, lt.key, lt.value, lt.replay_headers())
        bus.flush()
        consumer.commit()
        return mine
    finally:
        consumer.close()


def format_table(found: Sequence[Letter]) -> str:
    lines = [f"{'REF':<10} {'STAGE':<8} {'TRY':>3}  {'KEY':<24} {'SOURCE':<32} ERROR"]
    for lt in found:
        source = f"{lt.source_topic}[{lt.source_partition}]@{lt.source_offset}"
        error = " ".join(lt.error.split())[:80]
        lines.append(
            f"{lt.ref:<10} {lt.stage:<8} {lt.attempts:>3}  {str(lt.key)[:24]:<24} "
            f"{source[:32]:<32} {error}"
        )
    return "\n".join(lines)


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


def _int(raw: bytes | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _value(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode()}
    try:
        return json.loads(text)
    except ValueError:
        return text
