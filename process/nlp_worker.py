"""``nlp.pipe`` in a child process, so the NER core does nothing but NER.

The service's main process decodes records, assigns stories, looks up the tag cache, builds
tags from parsed docs, encodes and publishes; on a 2-core machine all of that ran on the same
core as ``nlp.pipe`` and cost ~15 % of its time. With :class:`NlpWorker` the model runs in a
child process (one: the same NER parallelism as ``nlp.pipe(n_process=1)``) and the rest runs
beside it on the other core: the worker parses minibatch *k + 1* while the main process reads
tags off minibatch *k*.

What crosses the process boundary is compact: texts one way; per doc, back, the attribute array
spaCy's own ``Doc.to_bytes`` stores (heads, dependencies, entities, sentence starts, ...) plus
its text and the strings those attributes name — not the tensor, not the pipeline. The main
process rebuilds each :class:`~spacy.tokens.Doc` on its own copy of the model's vocabulary
(:func:`doc_from_message`), so everything downstream reads the same annotations it read
before: tags are identical (``tests/unit/process/test_nlp_worker.py``). Serialising costs the
worker ~0.6 ms per news article (~0.7 % of parsing it).

Protocol (a socket pair, :class:`multiprocessing.connection.Connection` framing): the worker
sends ``("ready", pid)`` once the model is loaded; then for each request ``(seq, texts,
batch_size)`` it answers with chunks ``("docs", seq, [message, ...])`` — one per ``nlp.pipe``
minibatch, as soon as it is parsed — and ``("done", seq, n)``; on an exception in the model
``("error", seq, traceback)``. Each request is parsed inside ``nlp.memory_zone()``, so the
worker's vocabulary does not grow. The worker ignores SIGINT/SIGTERM (the service finishes its
batch, then closes the connection) and exits when the connection closes or its parent dies.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import traceback
from collections.abc import Generator, Sequence
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from spacy import attrs
from spacy.tokens import Doc
from spacy.vocab import Vocab

log = logging.getLogger(__name__)

#: ``Doc.to_bytes``'s attribute columns and those among them that hold string hashes.
ARRAY_HEAD: list[int | str] = list(Doc._get_array_attrs())
_STRING_ATTRS = {
    attrs.TAG,
    attrs.LEMMA,
    attrs.MORPH,
    attrs.DEP,
    attrs.ENT_TYPE,
    attrs.ENT_KB_ID,
    attrs.ENT_ID,
    attrs.NORM,
}
_STRING_COLUMNS = [i for i, a in enumerate(ARRAY_HEAD) if a in _STRING_ATTRS]
START_TIMEOUT = 300.0


class NlpWorkerError(RuntimeError):
    """The worker died or its model raised: a bug or a crash, not a transient condition."""


def doc_to_message(doc: Doc) -> dict[str, Any]:
    """What :meth:`Doc.from_dict` needs, the way ``Doc.to_dict`` lays it out, without the
    tensor and user data, and with the strings found by one ``np.unique`` instead of eight
    attribute reads per token."""
    if doc.user_data:
        raise NlpWorkerError("docs with user_data are not shipped across processes")
    body = doc.to_array(ARRAY_HEAD)
    strings = doc.vocab.strings
    hashes = np.unique(body[:, _STRING_COLUMNS]).tolist() if len(doc) else []
    return {
        "text": doc.text,
        "array_head": ARRAY_HEAD,
        "array_body": body,
        "strings": [strings[h] for h in hashes if h],
        "has_unknown_spaces": doc.has_unknown_spaces,
        "spans": doc.spans.to_bytes() if doc.spans else None,
    }


def doc_from_message(vocab: Vocab, message: dict[str, Any]) -> Doc:
    """The doc again, on ``vocab`` (call inside the vocabulary's memory zone in a service)."""
    if message.get("spans") is None:
        message = {k: v for k, v in message.items() if k != "spans"}
    return Doc(vocab).from_dict(message)


class ChildWorker:
    """A child process answering requests on a socket pair (``python -m MODULE FD PARENT
    ARGS...``): started, awaited until it says it is ready, reaped. The protocol beyond the
    first ``("ready", pid)`` message is the subclass's."""

    name = "worker"

    def __init__(
        self, module: str, args: Sequence[str], env: dict[str, str], *, wait: bool,
        timeout: float,
    ) -> None:
        parent, child = socket.socketpair()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", module, str(child.fileno()), str(os.getpid()), *args],
            pass_fds=[child.fileno()],
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdin=subprocess.DEVNULL,
        )
        child.close()
        self._conn = Connection(parent.detach())
        self.pid = self._proc.pid
        self.ready = False
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Block until the worker has loaded its model (NlpWorkerError if it died or took
        longer than ``timeout`` seconds)."""
        if self.ready:
            return
        if not self._conn.poll(timeout):
            self.close(timeout=0)
            raise NlpWorkerError(f"{self.name} did not start within {timeout:.0f}s")
        kind, _ = self._recv()
        if kind != "ready":
            raise NlpWorkerError(f"{self.name}: unexpected first message {kind!r}")
        self.ready = True
        log.info("%s pid=%d ready", self.name, self.pid)

    def _recv(self) -> Any:
        try:
            return self._conn.recv()
        except (EOFError, OSError) as exc:
            raise self._died(exc) from exc

    def _died(self, exc: BaseException) -> NlpWorkerError:
        code = self._proc.poll()
        return NlpWorkerError(f"{self.name} (pid {self._proc.pid}) gone, exit status {code}: {exc}")

    def close(self, timeout: float = 10.0) -> None:
        """Close the connection (the worker exits when it sees it) and reap the worker."""
        if not self._conn.closed:
            self._conn.close()
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> ChildWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NlpWorker(ChildWorker):
    """A child process running ``nlp.pipe`` on the tagger's model (``process.tagger.load_nlp``
    with the same name and excluded components). One request at a time."""

    name = "nlp worker"

    def __init__(
        self,
        model: str,
        exclude: Sequence[str],
        *,
        wait: bool = True,
        timeout: float = START_TIMEOUT,
    ) -> None:
        """Start the worker; with ``wait`` return once its model is loaded, otherwise call
        :meth:`wait_ready` (load something else meanwhile)."""
        # the worker parses on one core: keep numeric libraries from spreading over both
        env = {var: os.environ.get(var, "1")
               for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
        self._seq = 0
        self._pending: tuple[int, int] | None = None  # (seq, texts) not yet read back
        self._model = model
        super().__init__("process.nlp_worker", [model, ",".join(exclude)], env, wait=wait,
                         timeout=timeout)

    def submit(self, texts: Sequence[str], batch_size: int) -> int:
        """Send ``texts`` to be parsed; returns the request's number for :meth:`docs`."""
        self.wait_ready()
        if self._pending is not None:
            self._drain()
        self._seq += 1
        try:
            self._conn.send((self._seq, list(texts), batch_size))
        except OSError as exc:
            raise self._died(exc) from exc
        self._pending = (self._seq, len(texts))
        return self._seq

    def docs(self, seq: int, vocab: Vocab) -> Generator[Doc, None, None]:
        """The docs of request ``seq``, in order, rebuilt on ``vocab`` as each minibatch
        arrives. Reading stops early only by an exception; what is left is drained."""
        if self._pending is None or self._pending[0] != seq:
            raise NlpWorkerError(f"request {seq} is not the pending one")
        try:
            while True:
                kind, got, payload = self._recv()
                if got != seq:
                    raise NlpWorkerError(f"nlp worker answered request {got}, expected {seq}")
                if kind == "done":
                    self._pending = None
                    return
                if kind == "error":
                    self._pending = None
                    raise NlpWorkerError(f"nlp worker failed:\n{payload}")
                for message in payload:
                    yield doc_from_message(vocab, message)
        finally:
            if self._pending is not None and self._pending[0] == seq:
                self._drain()

    def _drain(self) -> None:
        """Read and drop the rest of the pending request's answer."""
        while self._pending is not None:
            kind, _, _ = self._recv()
            if kind in ("done", "error"):
                self._pending = None


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this process when the parent dies (kill -9 of the service)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(0)


def serve(fd: int, parent: int, model: str, exclude: Sequence[str]) -> None:
    """The worker's loop (``python -m process.nlp_worker FD PARENT MODEL EXCLUDE``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent(parent)
    from process.tagger import load_nlp

    conn = Connection(fd)
    nlp = load_nlp(model, exclude)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            seq, texts, batch_size = conn.recv()
        except (EOFError, OSError):
            return
        try:
            _answer(conn, nlp, seq, texts, batch_size)
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception:  # noqa: BLE001 - reported to the service, which raises it
            conn.send(("error", seq, traceback.format_exc()))


def _answer(conn: Connection, nlp: Any, seq: int, texts: list[str], batch_size: int) -> None:
    chunk: list[dict[str, Any]] = []
    with nlp.memory_zone():
        for doc in nlp.pipe(texts, batch_size=batch_size):
            chunk.append(doc_to_message(doc))
            if len(chunk) == batch_size:  # one nlp.pipe minibatch: send it while parsing on
                conn.send(("docs", seq, chunk))
                chunk = []
        if chunk:
            conn.send(("docs", seq, chunk))
    conn.send(("done", seq, len(texts)))


if __name__ == "__main__":  # pragma: no cover - run by NlpWorker
    serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], [x for x in sys.argv[4].split(",") if x])
