"""The embedder (:class:`process.semantic.Embedder`) in a child process.

An embedding of 64 tokens costs about as much CPU as parsing a news article. In the main
process of ``newsmon process`` it would run serially beside everything else there while the
NLP worker (:mod:`process.nlp_worker`) waits; in a process of its own it runs at the same time
as the parse of the same batch, and the operating system spreads the three processes (main,
parser, embedder) over the cores. What crosses the boundary: texts one way, a float32 array
back.

Protocol (a socket pair, :class:`multiprocessing.connection.Connection` framing): the worker
sends ``("ready", pid)`` once the model is loaded; each request ``(seq, texts)`` is answered by
``("vectors", seq, array)`` or ``("error", seq, traceback)``. Like the NLP worker it ignores
SIGINT/SIGTERM, exits when the connection closes, and dies with its parent.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection

import numpy as np

from .nlp_worker import START_TIMEOUT, ChildWorker, NlpWorkerError, _die_with_parent
from .semantic import LEAD_TOKENS

log = logging.getLogger(__name__)
#: The embedder yields the CPU to the parser (niced), and uses every core the parser leaves
#: idle (one OpenMP thread per core): while a batch is parsed it gets what the main process and
#: the services leave of the other core, once the parse is done both.
NICE = 10
THREADS = max(len(os.sched_getaffinity(0)), 1)


class EmbedWorker(ChildWorker):
    """A child process embedding texts with :class:`~process.semantic.Embedder`. Requests are
    answered in order; :meth:`embed` is :meth:`submit` then :meth:`result`."""

    name = "embed worker"

    def __init__(
        self, max_tokens: int = LEAD_TOKENS, *, wait: bool = True, timeout: float = START_TIMEOUT
    ) -> None:
        self.max_tokens = max_tokens
        self._seq = 0
        self._waiting: list[int] = []  # requests sent, answers not read
        self._answers: dict[int, np.ndarray] = {}
        env = {"OMP_NUM_THREADS": str(THREADS),
               "OMP_WAIT_POLICY": "PASSIVE"}  # idle threads sleep: they never spin on a core
        super().__init__("process.embed_worker", [str(max_tokens)], env, wait=wait,
                         timeout=timeout)

    def submit(self, texts: Sequence[str]) -> int:
        """Send ``texts`` to be embedded; returns the request's number for :meth:`result`."""
        self.wait_ready()
        self._seq += 1
        try:
            self._conn.send((self._seq, list(texts)))
        except OSError as exc:
            raise self._died(exc) from exc
        self._waiting.append(self._seq)
        return self._seq

    def result(self, seq: int) -> np.ndarray:
        """The vectors of request ``seq`` ((n, 384) float32), waiting for them if need be."""
        while seq not in self._answers:
            if seq not in self._waiting:
                raise NlpWorkerError(f"embed request {seq} is not pending")
            kind, got, payload = self._recv()
            expected = self._waiting.pop(0)
            if got != expected:
                raise NlpWorkerError(f"embed worker answered {got}, expected {expected}")
            if kind == "error":
                raise NlpWorkerError(f"embed worker failed:\n{payload}")
            self._answers[got] = payload
        return self._answers.pop(seq)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.result(self.submit(texts))


def serve(fd: int, parent: int, max_tokens: int) -> None:
    """The worker's loop (``python -m process.embed_worker FD PARENT MAX_TOKENS``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent(parent)
    os.nice(NICE)
    from process.semantic import Embedder

    conn = Connection(fd)
    embedder = Embedder(threads=THREADS, max_tokens=max_tokens)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            seq, texts = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("vectors", seq, embedder.embed(texts)))
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception:  # noqa: BLE001 - reported to the service, which raises it
            conn.send(("error", seq, traceback.format_exc()))


if __name__ == "__main__":  # pragma: no cover - run by EmbedWorker
    serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
