"""The one consume loop every consuming stage runs, and graceful shutdown.

A stage handles a batch of records and returns the records it could never handle (with the
reason). The loop then dead-letters those, flushes what the stage published, and only then
commits. Failures are classified in one place:

* :class:`PermanentError` for a record → dead-letter topic ``news.deadletter.v1`` and commit;
* :class:`TransientError` for the batch → rewind to the last commit, back off (exponential,
  jittered, capped) and retry; nothing is committed;
* anything else is a bug: it propagates and the supervisor restarts the service.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Protocol

from newsmon.bus import DEADLETTER_TOPIC, Bus, Consumer, Record
from newsmon.errors import TransientError
from newsmon.observe import BATCH_SECONDS, LAG, LAST_BATCH, RECORDS, TRANSIENT, stage_state
from newsmon.schema import M, SchemaError, decode

log = logging.getLogger(__name__)

#: Exit status when a stop signal was not honoured within the shutdown deadline.
EXIT_SHUTDOWN_TIMEOUT = 70


@dataclass(frozen=True)
class DeadLetter:
    record: Record
    error: str


def decode_records(
    model: type[M], records: Sequence[Record]
) -> tuple[list[tuple[Record, M]], list[DeadLetter]]:
    """Decode every record as ``model``; a record that is not one becomes a dead letter."""
    good: list[tuple[Record, M]] = []
    letters: list[DeadLetter] = []
    for rec in records:
        try:
            good.append((rec, decode(model, rec.value)))
        except SchemaError as exc:
            letters.append(DeadLetter(rec, str(exc)))
    return good, letters


class Stage(Protocol):
    name: str

    @property
    def topics(self) -> Sequence[str]:
        """The topics the stage consumes (read-only, so a stage may declare a tuple)."""

    def handle(self, records: Sequence[Record]) -> list[DeadLetter]:
        """Do the stage's work for a batch; return records that can never succeed."""


@dataclass
class Backoff:
    """Exponential back-off with full jitter: 0.5 s, 1 s, 2 s, ... capped at ``cap``."""

    base: float = 0.5
    cap: float = 30.0
    attempts: int = 0

    def next_delay(self) -> float:
        self.attempts += 1
        ceiling = min(self.cap, self.base * 2 ** (self.attempts - 1))
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempts = 0


def attempts_of(rec: Record) -> int:
    """How many times this record has been tried: its ``attempts`` header (set by
    ``newsmon deadletter replay``), else 1."""
    try:
        return max(1, int(rec.headers.get("attempts", b"1")))
    except ValueError:
        return 1


def dead_letter(bus: Bus, stage: str, letter: DeadLetter, attempts: int | None = None) -> None:
    rec = letter.record
    attempts = attempts_of(rec) if attempts is None else attempts
    headers = {
        **rec.headers,
        "error": letter.error.encode()[:4000],
        "stage": stage.encode(),
        "attempts": str(attempts).encode(),
        "source_topic": rec.topic.encode(),
        "source_partition": str(rec.partition).encode(),
        "source_offset": str(rec.offset).encode(),
    }
    bus.publish(DEADLETTER_TOPIC, rec.key, rec.value, headers)


def process_batch(stage: Stage, bus: Bus, consumer: Consumer, records: Sequence[Record]) -> None:
    """Handle one polled batch end to end; raises TransientError without committing."""
    started = time.perf_counter()
    letters = stage.handle(records)
    for letter in letters:
        log.warning(
            "dead-letter stage=%s topic=%s offset=%s key=%s error=%s",
            stage.name,
            letter.record.topic,
            letter.record.offset,
            letter.record.key,
            letter.error,
            extra={"stage": stage.name, "article_id": letter.record.key},
        )
        dead_letter(bus, stage.name, letter)
    bus.flush()
    consumer.commit()
    RECORDS.labels(stage.name, "ok").inc(len(records) - len(letters))
    RECORDS.labels(stage.name, "dead_letter").inc(len(letters))
    BATCH_SECONDS.labels(stage.name).observe(time.perf_counter() - started)
    LAST_BATCH.labels(stage.name).set(time.time())


def drain(stage: Stage, bus: Bus, consumer: Consumer, *, batch_size: int = 64) -> int:
    """Process until a poll returns nothing; returns the number of records handled."""
    total = 0
    while records := consumer.poll(max_records=batch_size, timeout=0.2):
        process_batch(stage, bus, consumer, records)
        total += len(records)
    return total


def consume_forever(
    stage: Stage,
    bus: Bus,
    consumer: Consumer,
    stop: threading.Event,
    *,
    batch_size: int = 64,
    poll_timeout: float = 1.0,
    on_idle: Callable[[], None] | None = None,
) -> None:
    """The service loop: poll, handle, dead-letter, flush, commit, until ``stop`` is set."""
    backoff = Backoff()
    state = stage_state(stage.name)
    next_lag = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() >= next_lag:  # the consumer is not thread-safe: measured here
                LAG.labels(stage.name).set(consumer.lag())
                next_lag = time.monotonic() + 15.0
            records = consumer.poll(max_records=batch_size, timeout=poll_timeout)
            if records:
                process_batch(stage, bus, consumer, records)
            elif on_idle is not None:
                on_idle()
            if backoff.attempts:
                log.info("recovered stage=%s after=%d retries", stage.name, backoff.attempts,
                         extra={"stage": stage.name})
            backoff.reset()
            state.working()
        except TransientError as exc:
            TRANSIENT.labels(stage.name).inc()
            state.backing_off(str(exc))
            delay = backoff.next_delay()
            log.warning(
                "transient failure stage=%s attempt=%d retry_in=%.1fs error=%s",
                stage.name,
                backoff.attempts,
                delay,
                exc,
                extra={"stage": stage.name},
            )
            _rewind_quietly(consumer)
            stop.wait(delay)
    log.info("stopping stage=%s", stage.name)


def _rewind_quietly(consumer: Consumer) -> None:
    try:
        consumer.rewind()
    except TransientError as exc:  # the next poll retries; positions are re-read on reconnect
        log.warning("rewind failed error=%s", exc)


def install_signal_handlers(stop: threading.Event, deadline: float | None = None) -> None:
    """SIGTERM/SIGINT set ``stop``: the current batch finishes and commits, then we exit.

    With ``deadline`` (seconds), a process still alive that long after the first signal exits
    with :data:`EXIT_SHUTDOWN_TIMEOUT` (nothing uncommitted is lost: it is delivered again);
    a second signal exits at once with the same status."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            _hard_exit(f"second {name}")
        log.info("signal=%s received: finishing the current batch", name)
        stop.set()
        if deadline is not None:
            timer = threading.Timer(deadline, _hard_exit, (f"shutdown exceeded {deadline:.0f}s",))
            timer.daemon = True
            timer.start()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _hard_exit(reason: str) -> None:
    log.error("forced exit: %s (uncommitted records will be delivered again)", reason)
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(EXIT_SHUTDOWN_TIMEOUT)


def sleep_until(deadline: float, stop: threading.Event) -> None:
    stop.wait(max(0.0, deadline - time.monotonic()))
