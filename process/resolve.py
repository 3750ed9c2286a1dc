"""Candidates → actor and place mentions (pure).

Rules: gazetteer names are canonical; headline-cased spans are trimmed and, if unknown, must be
confirmed by the body; weak aliases need their strong alias or role title in the article (or,
for an entry marked ``weak_by_state``, its state named, not another's right after it);
demonyms and capitals stand for their state only where it acts (forces named in several words
always act), capitals are places otherwise;
a state named as a location ("talks in Turkey") is a place there; news outlets are not actors;
a surname resolves to the full name seen in the same article.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import replace

from .gazetteer import ActorEntry, Gazetteer, Hit, ministry_field
from .headline import trim_headline_tokens
from .mentions import ActorMention, Candidate, PlaceMention
from .names import HONORIFICS, POSSESSIVES, clean_person_name, owner_name, resolve_surnames
from .normalize import fold, strip_possessive
from .roles import ACTING

UNKNOWN_TYPES = {"PERSON": "person", "ORG": "organization"}
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
Resolved = tuple[list[ActorMention], list[PlaceMention]]


def resolve(
    cands: Sequence[Candidate],
    gaz: Gazetteer,
    lower_vocab: Collection[str],
    unknown_names: bool = True,
) -> Resolved:
    """Actor and place mentions; ``unknown_names=False`` keeps only gazetteer names (for text
    the NER model was not trained on, such as non-English articles)."""
    cands = [_trimmed(c, gaz, lower_vocab) for c in cands]
    present = _strong_actors(cands)
    actors: list[ActorMention] = []
    places: list[PlaceMention] = []
    unknown: list[Candidate] = []
    for k, cand in enumerate(cands):
        body = _state_body(cand, cands[k - 1] if k else None, cands[k + 1 : k + 2], gaz)
        if body is not None:
            actors.append(_actor(body, cand))
            continue
        if cand.hits:
            hit = choose_hit(cand, present, _state_after(cand, cands[k + 1 : k + 2]))
            if hit is not None:
                _add_known(cand, hit, actors, places)
                continue
            if cand.label != "PERSON":
                continue
        if cand.tokens and unknown_names and _name_like(cand):
            unknown.append(cand)
    confirmed = _confirmed(unknown)
    kept = {id(c) for c in confirmed}
    # A full name only in a headline-cased title still tells whose surname the body uses
    # ("Police Chief Cerelyn Davis Resigns" … "Davis said").
    headline_people = [
        " ".join(clean_person_name(c.tokens)) for c in unknown
        if c.label == "PERSON" and id(c) not in kept
    ]
    _add_unknown(confirmed, gaz, actors, places, headline_people)
    return actors, places


#: Words of an office's title the NER model tags as an organisation of their own: "Secretary
#: of State Marco Rubio", "Defense Minister Rustem Umerov". Alone they name no actor.
OFFICE_WORDS = frozenset(
    """state defense defence justice interior treasury energy finance foreign health commerce
    homeland executive agriculture labor labour education transport transportation""".split()
)


#: Hit kinds by which a state owns a ministry named with it.
_OWNER_KINDS = ("alias", "demonym", "capital")


def _state_body(
    cand: Candidate, before: Candidate | None, after: Sequence[Candidate], gaz: Gazetteer
) -> ActorEntry | None:
    """A state's ministry the NER tagged as an organisation of its own: with the state in the
    span ("Turkish Defense Ministry", "Qatar's Foreign Ministry"), right before it on the same
    line ("Russia's" "Ministry of Defence"), or right after "of"/"in" ("the Ministry of Foreign
    Affairs of" "the United Arab Emirates", "the Foreign Ministry in" "Beijing"). It is the
    state's ministry if the gazetteer knows it, else the state, which acts through it
    (docs/labelling.md). A ministry named as a venue ("met at the Turkish Foreign Ministry")
    does not make its state an actor: it stays the organisation it was written as."""
    if cand.label != "ORG" or cand.role == "locative" or any(h.actor for h in cand.hits):
        return None
    tokens = list(cand.tokens)
    if tokens[:1] in (["the"], ["The"]):
        tokens = tokens[1:]
    folded = [fold(t) for t in tokens]
    if "of" in folded[1:]:  # "Ministry of Defence of Azerbaijan" as one span
        j = len(folded) - 1 - folded[::-1].index("of")
        field = ministry_field(" ".join(tokens[:j]))
        owner = tokens[j + 2 :] if folded[j + 1 : j + 2] == ["the"] else tokens[j + 1 :]
        state = _state(gaz.lookup(owner_name(owner)), ("alias",)) if owner else None
        if field is not None and state is not None:
            return gaz.ministries.get((state.country, field), state)
    for i in range(len(tokens)):
        field = ministry_field(" ".join(tokens[i:]))
        if field is None:
            continue
        if i:
            state = _state(gaz.lookup(owner_name(tokens[:i])), _OWNER_KINDS)
        else:
            state = _state_beside(cand, before, after, tokens[-1])
        return None if state is None else gaz.ministries.get((state.country, field), state)
    return None


def _state_beside(
    cand: Candidate, before: Candidate | None, after: Sequence[Candidate], last: str
) -> ActorEntry | None:
    """The state named right before a ministry or right after its "of"/"in", on its line."""
    if before is not None and before.role != "locative":  # not "In Kyiv Ministry of ..."
        words = _line(cand.preceding).split()
        while words and words[-1] in ("'s", "'"):  # the possessive as a token of its own
            words.pop()
        owner = fold(owner_name(before.tokens)).split()
        if owner and [strip_possessive(w) for w in words[-len(owner):]] == owner:
            return _state(before.hits, _OWNER_KINDS)
    if after:
        tail = _line(after[0].preceding)
        last = fold(last)
        if tail.endswith((f"{last} of", f"{last} of the")):
            return _state(after[0].hits, ("alias",))
        if tail.endswith(f"{last} in"):
            return _state(after[0].hits, ("capital",))
    return None


def _line(text: str) -> str:
    """The folded end of ``text`` after its last line break."""
    return fold(text.rsplit("\n", 1)[-1])


def _state(hits: Sequence[Hit], kinds: Collection[str]) -> ActorEntry | None:
    return next((h.actor for h in hits if h.kind in kinds and h.actor is not None
                 and h.actor.type == "state"), None)


def _name_like(cand: Candidate) -> bool:
    """Not a journalist's credit, not "a former Marine" (names take no indefinite article),
    not the office word of a title ("Secretary of State")."""
    before = cand.preceding.lower().split()[-2:]
    odd = any(c in cand.text for c in "/|@") or cand.text.endswith(".") or cand.text.islower()
    office = cand.label == "ORG" and len(cand.tokens) == 1 and fold(cand.text) in OFFICE_WORDS
    return cand.role != "reporter" and not odd and not office and not ({"a", "an"} & set(before))


def _trimmed(cand: Candidate, gaz: Gazetteer, lower_vocab: Collection[str]) -> Candidate:
    if not cand.headline or cand.hits:
        return cand
    tokens = trim_headline_tokens(cand.tokens, lambda s: bool(gaz.lookup(s)), lower_vocab)
    hits = tuple(gaz.lookup(" ".join(tokens))) if tokens else ()
    return Candidate(tokens, cand.label, cand.start, cand.in_title, True, cand.role,
                     cand.preceding, hits)


def _strong_actors(cands: Sequence[Candidate]) -> set[str]:
    """Names of the actors named by a strong alias, and ``country:XX`` for each state so
    named."""
    strong = [
        h.actor for c in cands for h in c.hits if h.actor is not None and h.kind == "alias"
    ]
    return {a.name for a in strong} | {f"country:{a.country}" for a in strong
                                       if a.type == "state" and a.country}


def choose_hit(
    cand: Candidate, present: Collection[str], state_after: str | None = None
) -> Hit | None:
    """The meaning of a gazetteer match in context, or None when it means nothing here;
    ``state_after``: the country of a state named right after the match."""
    for kind in ("alias", "capital", "demonym", "place"):
        for hit in cand.hits:
            if hit.kind == kind:
                return hit
    for hit in cand.hits:
        if hit.kind == "weak" and hit.actor is not None and _weak_ok(
            hit.actor, cand, present, state_after
        ):
            return hit
    return None


def _weak_ok(
    entry: ActorEntry, cand: Candidate, present: Collection[str], state_after: str | None
) -> bool:
    """A weak alias stands for its actor when the article names the actor by a strong one,
    puts its role title before it, or — an entry marked ``weak_by_state``, an alias of
    several words — names its state and no other state right after the alias: "Силы
    быстрого реагирования" in a report that names Sudan; not "Кабинет министров Японии"."""
    before = fold(cand.preceding)
    return (
        entry.name in present
        or any(before.endswith(fold(r)) for r in entry.roles)
        or (entry.weak_by_state and len(cand.tokens) > 1
            and f"country:{entry.country}" in present
            and state_after in (None, entry.country))
    )


def _state_after(cand: Candidate, following: Sequence[Candidate]) -> str | None:
    """The country of a state named right after ``cand`` ("Кабинет министров Японии")."""
    end = cand.start + len(" ".join(cand.tokens))
    for nxt in following:
        if nxt.start - end <= 2:
            for hit in nxt.hits:
                if hit.actor is not None and hit.actor.type == "state" and hit.kind == "alias":
                    return hit.actor.country
    return None


def _add_known(
    cand: Candidate, hit: Hit, actors: list[ActorMention], places: list[PlaceMention]
) -> None:
    if hit.place is not None:
        places.append(PlaceMention(hit.place.name, hit.place.country, cand.start))
        return
    entry = hit.actor
    assert entry is not None
    # A state's forces named in several words ("ВС РФ", "российская армия", "Russian Armed
    # Forces") are the state acting, whatever the sentence does with them.
    acting = cand.role in ACTING or (hit.kind == "demonym" and _names_forces(cand.tokens))
    if hit.kind == "capital" and not acting:
        places.append(PlaceMention(entry.capitals[0], entry.country, cand.start))
    elif hit.kind == "demonym" and not acting:
        return
    elif entry.type == "state" and hit.kind == "alias" and cand.role == "locative":
        places.append(PlaceMention(entry.name, entry.country, cand.start))
    else:
        actors.append(_actor(entry, cand))


#: Words of a state's forces in its demonyms of several words: "ВС РФ", "армия России",
#: "Збройні сили Росії", "Russian Armed Forces", "U.S. military".
FORCES = frozenset("вс зс forces military army".split())
_FORCES_STEMS = tuple(fold(s) for s in ("сил", "войск", "військ", "арми", "армі"))
#: ... and in one: Ukraine's forces as both languages abbreviate them.
FORCES_ACRONYMS = frozenset({"всу", "зсу"})


def _names_forces(tokens: Sequence[str]) -> bool:
    words = [fold(t) for t in tokens]
    if len(words) == 1:
        return words[0] in FORCES_ACRONYMS
    return any(w in FORCES or w.startswith(_FORCES_STEMS) for w in words)


def _actor(entry: ActorEntry, cand: Candidate) -> ActorMention:
    return ActorMention(
        entry.name, entry.type, entry.country, cand.role, cand.in_title, cand.start, True
    )


def _confirmed(unknown: Sequence[Candidate]) -> list[Candidate]:
    """Unknown names from headline-cased lines count only if the body names them too."""
    body = {fold(c.text) for c in unknown if not c.headline}
    body_words = {w for name in body for w in name.split()}
    return [c for c in unknown if not c.headline or fold(c.text) in body or
            (len(c.tokens) == 1 and fold(c.text) in body_words)]


def vote_labels(unknown: Sequence[Candidate]) -> list[Candidate]:
    """One label per name in an article: the majority of its NER labels, where a surname of a
    full PERSON name votes PERSON ("Jayapal" in the headline tagged GPE, PERSON in the body)
    and wins a tie ("Artem Kobzar wrote …, Kobzar said" with the second tagged ORG); other
    ties go to the label seen first."""
    votes: dict[str, Counter[str]] = {}
    surnames: set[str] = set()
    for cand in unknown:
        votes.setdefault(fold(cand.text), Counter())[cand.label] += 1
    for cand in unknown:
        if cand.label == "PERSON" and len(cand.tokens) > 1:
            surnames.add(fold(cand.tokens[-1]))
            votes.setdefault(fold(cand.tokens[-1]), Counter())["PERSON"] += 1
    winner = {
        name: max(c, key=lambda label: (c[label], label == "PERSON" and name in surnames))
        for name, c in votes.items()
    }
    return [replace(c, label=winner.get(fold(c.text), c.label)) for c in unknown]


#: Titles of a person (not of a company or a unit: "General Electric", "Special Air
#: Service", "First Abu Dhabi Bank").
PERSON_TITLES = frozenset(
    """spokesman spokeswoman spokesperson minister secretary president envoy ambassador
    adviser advisor aide governor senator mayor chairman chairwoman speaker premier
    chancellor""".split()
)


def _titled_people(unknown: Sequence[Candidate]) -> list[Candidate]:
    """A person the NER took for an organisation with the title before the name
    ("Presidential Spokesman Serhiy Nikiforov" as ORG): an ORG that opens with title words,
    one of them a person's, and goes on with two or three capitalised words is a person."""
    out = []
    for cand in unknown:
        if cand.label == "ORG" and len(cand.tokens) >= 3 and fold(cand.tokens[0]) in HONORIFICS:
            name = clean_person_name(cand.tokens)
            title = {fold(t) for t in cand.tokens[: len(cand.tokens) - len(name)]}
            if (2 <= len(name) <= 3 and title & PERSON_TITLES
                    and all(w[:1].isupper() and fold(w) not in OFFICE_WORDS for w in name)):
                cand = replace(cand, label="PERSON")
        out.append(cand)
    return out


def _add_unknown(
    unknown: Sequence[Candidate],
    gaz: Gazetteer,
    actors: list[ActorMention],
    places: list[PlaceMention],
    headline_people: Sequence[str] = (),
) -> None:
    unknown = vote_labels(_titled_people(unknown))
    people = [c for c in unknown if c.label == "PERSON"]
    names = {id(c): " ".join(clean_person_name(c.tokens)) for c in people}
    titled = {id(c) for c in people if _titled(c, names[id(c)])}
    known = [m.name for m in actors if m.type == "person"]
    short = resolve_surnames([*known, *(n for n in names.values() if n),
                              *(n for n in headline_people if n)])
    for cand in unknown:
        if gaz.is_source(cand.text) or (cand.label == "PERSON" and not names.get(id(cand))):
            continue
        if cand.label in PLACE_LABELS:
            places.append(PlaceMention(_strip_the(cand.text), None, cand.start))
        elif cand.label in UNKNOWN_TYPES:
            name = _strip_the(names.get(id(cand)) or cand.text)
            name = short.get(name, name)
            entry = gaz.by_name.get(fold(name))
            if entry is None and cand.label == "PERSON":
                entry = gaz.similar_person(name)  # another spelling of a known name
            if entry is not None:
                actors.append(_actor(entry, cand))
            else:
                actors.append(ActorMention(name, UNKNOWN_TYPES[cand.label], None, cand.role,
                                           cand.in_title, cand.start, False,
                                           id(cand) in titled))


def _titled(cand: Candidate, name: str) -> bool:
    """A title before the name, in the span ("Senator Blumenthal" as one PERSON) or right
    before it ("Foreign Minister Sugiono")."""
    before = cand.preceding.split()[-1:]
    stripped = len(name.split()) < len([t for t in cand.tokens if t not in POSSESSIVES])
    return stripped or bool(before and fold(before[0]) in HONORIFICS)


def _strip_the(text: str) -> str:
    """Surface form of a joined token name: no leading "the", no trailing possessive, and
    clitics/hyphens re-attached ("Mexico 's Institute" → "Mexico's Institute")."""
    text = text.removeprefix("the ").removeprefix("The ")
    text = re.sub(r" (['\u2019]s?)(?= |$)", r"\1", text).replace(" - ", "-")
    for suffix in ("'s", "\u2019s"):
        text = text.removesuffix(suffix)
    return text
