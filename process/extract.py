"""spaCy ``Doc`` → :class:`Candidate` list. The only module besides ``tagger`` that reads spaCy
objects; everything after this works on plain data."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from functools import lru_cache

from spacy.attrs import ORTH
from spacy.tokens import Doc, Span

from .gazetteer import Gazetteer, Hit
from .headline import is_headline_cased
from .mentions import Candidate
from .normalize import fold
from .roles import role_of
from .slavic import norm_word

NER_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP"})
STATEISH = frozenset({"demonym", "capital"})


def candidates(doc: Doc, title_len: int, gaz: Gazetteer) -> list[Candidate]:
    """Gazetteer matches first; NER entities fill in what the gazetteer does not know."""
    headline_ranges = _headline_ranges(doc.text, title_len)
    gaz_spans = list(_gazetteer_spans(doc, gaz))
    known = {i for span, _ in gaz_spans for i in range(span.start, span.end)}
    ends = {span.end - 1 for span, _ in gaz_spans}
    ents = [
        _with_given_name(part, gaz, known)
        for e in doc.ents if e.label_ in NER_LABELS
        for part in _trailing_person(e, gaz, known, ends)
    ]
    kept_gaz, ents = _merge(gaz_spans, ents, gaz)
    found = [_candidate(span, hits, "", title_len, headline_ranges) for span, hits in kept_gaz]
    found += [_candidate(e, (), e.label_, title_len, headline_ranges) for e in ents]
    return sorted(found, key=lambda c: c.start)


def _with_given_name(ent: Span, gaz: Gazetteer, known: Collection[int]) -> Span:
    """A one-word person with a known given name right before it that neither an entity nor
    the gazetteer took (``known``: token indices of gazetteer matches): the NER cut the name
    ("acting Mayor Artem Kobzar" tagged "Kobzar"). Titles are no given names."""
    if ent.label_ != "PERSON" or len(ent) != 1 or ent.start == 0:
        return ent
    prev = ent.doc[ent.start - 1]
    word = fold(prev.text)
    if (prev.ent_iob_ == "O" and prev.i not in known and prev.is_alpha
            and prev.text[:1].isupper() and len(word) > 2 and word in gaz.given_names):
        return Span(ent.doc, ent.start - 1, ent.end, label="PERSON")
    return ent


_DETERMINERS = frozenset({"the", "a", "an"})


def _trailing_person(
    ent: Span, gaz: Gazetteer, known: Collection[int], ends: Collection[int]
) -> list[Span]:
    """An entity the NER ran from a known name into a person's ("ambassador to Kiev Mikhail
    Zurabov", "the Ministry of Energy of Ukraine Oleksiy Orzhel"): the two or three
    capitalised words after the known name's last word (``ends``), from a known given name
    to the entity's end, are a person of their own; what comes before keeps the entity's
    label unless it is only the known name (``known``: token indices of gazetteer matches),
    which the gazetteer's match stands for. A given name that starts a known name ("the US
    Israel Defense Forces") starts no person."""
    for k in range(max(ent.start + 1, ent.end - 3), ent.end - 1):
        tail = ent.doc[k : ent.end]
        if (k - 1 in ends and k not in known
                and all(t.is_alpha and t.text[:1].isupper() for t in tail)
                and fold(tail[0].text) in gaz.given_names):
            person = Span(ent.doc, k, ent.end, label="PERSON")
            if all(i in known or ent.doc[i].lower_ in _DETERMINERS for i in range(ent.start, k)):
                return [person]
            return [Span(ent.doc, ent.start, k, label=ent.label_), person]
    return [ent]


def _gazetteer_spans(doc: Doc, gaz: Gazetteer) -> Iterator[tuple[Span, tuple[Hit, ...]]]:
    strings = doc.vocab.strings  # token texts from one array call: no Token object per word
    words = [strings[orth] for orth in doc.to_array(ORTH).tolist()]
    keys = [_key(word) for word in words]
    firsts = gaz.first_keys
    i = 0
    while i < len(doc):
        if keys[i] not in firsts:  # most tokens start no alias: skip the longest-first probe
            joined = _camel(words[i])
            hits = gaz.lookup_tokens([_key(w) for w in joined]) if joined else ()
            if hits:
                yield doc[i : i + 1], tuple(hits)
            i += 1
            continue
        if i + 2 < len(doc) and _INITIAL.fullmatch(words[i + 1]) and words[i][:1].isupper():
            # a middle initial ("Wendy R. Sherman"): the name without it, when it is one
            hits = [h for h in gaz.lookup_tokens([keys[i], keys[i + 2]]) if h.kind == "alias"]
            if hits:
                yield doc[i : i + 3], tuple(hits)
                i += 3
                continue
        for size in range(min(gaz.max_len, len(doc) - i), 0, -1):
            key = keys[i : i + size]
            hits = gaz.lookup_tokens(key)
            if hits and (
                any(t.text[:1].isupper() for t in doc[i : i + size])
                or tuple(key) in gaz.lowercase_keys  # "the trilateral contact group"
            ):
                yield doc[i : i + size], tuple(hits)
                i += size
                break
        else:
            i += 1


#: A middle initial: "R." in "Wendy R. Sherman".
_INITIAL = re.compile(r"[A-Z]\.")


@lru_cache(maxsize=200_000)
def _camel(word: str) -> tuple[str, str] | None:
    """Two capitalised words whose space the page lost ("VolodymyrZelenskyy", from a link or
    a line break in the page's markup), else None (bounded cache: words repeat)."""
    cut = [k for k in range(1, len(word)) if word[k].isupper() and word[k - 1].islower()]
    if len(cut) != 1 or not word.isalpha():
        return None
    first, second = word[: cut[0]], word[cut[0] :]
    return (first, second) if first.istitle() and second.istitle() else None


@lru_cache(maxsize=200_000)
def _key(word: str) -> str:
    """:func:`~process.slavic.norm_word` of one token text; words repeat, so each is keyed
    once (bounded)."""
    return norm_word(word)


def _merge(
    gaz_spans: list[tuple[Span, tuple[Hit, ...]]], ents: list[Span], gaz: Gazetteer
) -> tuple[list[tuple[Span, tuple[Hit, ...]]], list[Span]]:
    """Drop entities that overlap a gazetteer match, unless the entity is a longer organisation
    that merely contains a state name ("Bank of Mexico"), a person whose given name is not
    that of the known person with the surname ("Oleksiy Kuleba", not Dmytro) or is a demonym
    ("German Gref"): then the match goes."""
    kept_ents: list[Span] = []
    dropped: set[int] = set()
    for ent in ents:
        overlapping = [
            k for k, (s, _) in enumerate(gaz_spans) if s.start < ent.end and ent.start < s.end
        ]
        if not overlapping:
            kept_ents.append(ent)
        elif (
            ent.label_ in ("ORG", "FAC")
            and all(
                _stateish(gaz_spans[k][1]) and len(gaz_spans[k][0]) < _words(ent)
                for k in overlapping
            )
        ) or (
            ent.label_ == "PERSON" and _namesake(ent, [gaz_spans[k] for k in overlapping], gaz)
        ) or (
            ent.label_ == "PERSON" and _given_demonym(ent, [gaz_spans[k] for k in overlapping])
        ):
            kept_ents.append(ent)
            dropped.update(overlapping)
    return [g for k, g in enumerate(gaz_spans) if k not in dropped], kept_ents


def _words(ent: Span) -> int:
    """The entity's length without its leading article: "The Ukrainian Armed Forces" is no
    longer than the match "Ukrainian Armed Forces" (Ukraine acting), as "Bank of Mexico" is
    longer than "Mexico"."""
    skip = 0
    while skip < len(ent) - 1 and ent[skip].lower_ in _DETERMINERS:
        skip += 1
    return len(ent) - skip


def _namesake(ent: Span, spans: list[tuple[Span, tuple[Hit, ...]]], gaz: Gazetteer) -> bool:
    """A person entity "Given Surname" over a match of only the surname of a known person
    with another given name."""
    return (
        len(spans) == 1
        and len(spans[0][0]) == 1
        and spans[0][0].start == ent.end - 1
        and ent.start < spans[0][0].start
        and gaz.other_given_name(ent[0].text, spans[0][1])
    )


def _given_demonym(ent: Span, spans: list[tuple[Span, tuple[Hit, ...]]]) -> bool:
    """A person entity whose given name is a demonym ("German Gref"): the match of the
    demonym alone, on the entity's first word, is no state."""
    return (
        len(spans) == 1
        and len(spans[0][0]) == 1
        and spans[0][0].start == ent.start
        and len(ent) > 1
        and all(h.kind == "demonym" for h in spans[0][1])
    )


def _stateish(hits: tuple[Hit, ...]) -> bool:
    return all(
        h.kind in STATEISH or (h.actor is not None and h.actor.type == "state") for h in hits
    )


def _candidate(
    span: Span,
    hits: tuple[Hit, ...],
    label: str,
    title_len: int,
    headline_ranges: list[tuple[int, int]],
) -> Candidate:
    start = span.start_char
    before = span.doc[max(0, span.start - 4) : span.start].text
    return Candidate(
        tokens=_name_tokens(span),
        label=label,
        start=start,
        in_title=start < title_len,
        headline=any(a <= start < b for a, b in headline_ranges),
        role=role_of(span.root),
        preceding=before,
        hits=hits,
    )


def _name_tokens(span: Span) -> tuple[str, ...]:
    """Span words without white space and a trailing possessive ("ABC News'" → ABC News)."""
    words = [t.text for t in span if not t.is_space]
    while words and words[-1] in ("'", "\u2019", "'s", "\u2019s", "-", "/", "|"):
        words.pop()
    return tuple(words)


def _headline_ranges(text: str, title_len: int) -> list[tuple[int, int]]:
    ranges, offset = [], 0
    for line in text.split("\n"):
        end = offset + len(line)
        if is_headline_cased(line):
            ranges.append((offset, end))
        offset = end + 1
    return ranges
