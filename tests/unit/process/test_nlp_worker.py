"""``nlp.pipe`` in a child process gives the same tags as in-process, and the worker's
life cycle (errors, early stop, exit) leaves the connection usable or fails loudly."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import pytest

from process.cache import TagCache, submit_cached
from process.nlp_worker import NlpWorker, NlpWorkerError, doc_from_message, doc_to_message
from process.tagger import EXCLUDE, MODEL, Tagger

from .conftest import DEV

pytestmark = pytest.mark.model


def _dev_items() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (DEV / "articles.jsonl").open() if line.strip()]
    return [(r.get("title", ""), r.get("text", "")) for r in rows]


@pytest.fixture(scope="module")
def worker_tagger() -> Iterator[Tagger]:
    tagger = Tagger.load(ner_process=True)
    yield tagger
    tagger.close()


def test_tags_from_the_worker_equal_tags_in_process(model_tagger, worker_tagger) -> None:  # type: ignore[no-untyped-def]
    items = _dev_items()
    items += [("", ""), ("Only a title", ""), ("", "Kyiv said.\n\nMoscow said.")]
    local = model_tagger.tag_batch(items)
    remote = worker_tagger.tag_batch(items)
    assert [t.model_dump_json() for t in remote] == [t.model_dump_json() for t in local]


def test_submit_overlaps_and_cache_path_is_identical(model_tagger, worker_tagger) -> None:  # type: ignore[no-untyped-def]
    items = _dev_items()[:10]
    batch = items + items[:3]
    finish = submit_cached(worker_tagger, TagCache(), batch)
    assert finish() == model_tagger.tag_batch(batch)


def test_doc_message_round_trip_keeps_annotations(model_tagger) -> None:  # type: ignore[no-untyped-def]
    nlp = model_tagger.nlp
    doc = nlp("Zelensky met Putin in Istanbul on Friday.\n\nThe Kremlin said talks would go on.")
    again = doc_from_message(nlp.vocab, doc_to_message(doc))
    assert [(t.text, t.dep_, t.head.i, t.ent_type_, t.is_sent_start) for t in again] == [
        (t.text, t.dep_, t.head.i, t.ent_type_, t.is_sent_start) for t in doc
    ]
    assert [(e.text, e.label_) for e in again.ents] == [(e.text, e.label_) for e in doc.ents]


def test_an_abandoned_read_is_drained_and_the_next_request_is_answered(
    model_tagger: Tagger, worker_tagger: Tagger
) -> None:
    worker = worker_tagger.worker
    assert worker is not None
    texts = [f"{t}\n\n{x}" for t, x in _dev_items()[:20]]
    seq = worker.submit(texts, 4)
    docs = worker.docs(seq, model_tagger.nlp.vocab)
    with model_tagger.nlp.memory_zone():
        next(docs)
        docs.close()  # the caller stopped reading: the rest is drained
    items = _dev_items()[:2]
    assert worker_tagger.tag_batch(items) == model_tagger.tag_batch(items)


def test_a_dead_worker_is_an_error_and_close_reaps_it(model_tagger) -> None:  # type: ignore[no-untyped-def]
    worker = NlpWorker(MODEL, EXCLUDE)
    os.kill(worker.pid, signal.SIGKILL)
    time.sleep(0.2)
    vocab = model_tagger.nlp.vocab
    with pytest.raises(NlpWorkerError, match="gone"):
        list(worker.docs(worker.submit(["Kyiv said."], 1), vocab))
    worker.close()
    assert worker._proc.returncode == -signal.SIGKILL


def test_the_worker_exits_when_the_connection_closes() -> None:
    worker = NlpWorker(MODEL, EXCLUDE)
    pid = worker.pid
    worker.close(timeout=10)
    assert worker._proc.returncode == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_embed_worker_embeds_like_the_embedder_and_answers_in_order() -> None:
    import numpy as np

    from process.embed_worker import EmbedWorker
    from process.semantic import Embedder

    texts = ["Zelensky invites Putin to Istanbul", "Переговоры в Стамбуле", ""]
    worker = EmbedWorker()
    try:
        first, second = worker.submit(texts), worker.submit(texts[:1])
        got = worker.result(second), worker.result(first)  # read out of order
        local = Embedder(threads=1).embed(texts)
        assert got[0].shape == (1, 384) and got[1].shape == (3, 384)
        assert np.allclose(got[1], local, atol=1e-5) and not got[1][2].any()
    finally:
        worker.close()
    with pytest.raises(NlpWorkerError, match="gone"):
        worker.embed(["after close"])
