"""The actor gazetteer: YAML data → an alias index over folded token sequences.

Pure data and lookups; no spaCy. The tokenizer used to split aliases is injected so that
aliases split the same way as the text they are matched against.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from newsmon.errors import ConfigError
from newsmon.schema import ActorType

from .names import TITLE_WORDS, owner_name
from .normalize import fold, simple_tokens
from .slavic import alias_variants, norm_word

DATA_DIR = Path(__file__).parent / "data"
AliasKind = Literal["alias", "weak", "demonym", "capital", "place"]
Tokenizer = Callable[[str], Sequence[str]]
ModelT = TypeVar("ModelT", bound=BaseModel)


class GazetteerError(ConfigError, ValueError):
    """Gazetteer data that cannot be used; the message names the file and the entry."""


class ActorEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    type: ActorType
    country: str | None = None
    roles: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    weak_aliases: tuple[str, ...] = ()
    #: Its weak aliases of several words stand where its state is named (a distinctive
    #: name that other countries do not use: "Силы быстрого реагирования" with Sudan).
    weak_by_state: bool = False
    demonyms: tuple[str, ...] = ()
    capitals: tuple[str, ...] = ()

    @field_validator("country")
    @classmethod
    def _alpha2(cls, value: str | None) -> str | None:
        if value is not None and not (len(value) == 2 and value.isalpha() and value.isupper()):
            raise ValueError(f"country must be an ISO 3166 alpha-2 code like 'UA', got {value!r}")
        return value


class PlaceEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    country: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """What an alias means: an actor entry (or a place) and how the alias refers to it."""

    kind: AliasKind
    actor: ActorEntry | None = None
    place: PlaceEntry | None = None


@dataclass
class Gazetteer:
    actors: tuple[ActorEntry, ...]
    places: tuple[PlaceEntry, ...] = ()
    sources: frozenset[str] = frozenset()
    tokenizer: Tokenizer = simple_tokens
    index: dict[tuple[str, ...], list[Hit]] = field(default_factory=dict)
    by_name: dict[str, ActorEntry] = field(default_factory=dict)
    max_len: int = 1
    #: The first key of every alias: most tokens start none, and need no longer probe.
    first_keys: set[str] = field(default_factory=set)
    #: Keys of aliases written in lower case (росія, рф: Ukrainian outlets' own style), which
    #: match lower-case text where names otherwise need a capital.
    lowercase_keys: set[tuple[str, ...]] = field(default_factory=set)

    def __post_init__(self) -> None:
        for entry in self.actors:
            self.by_name[fold(entry.name)] = entry
            self._add(entry.name, Hit("alias", actor=entry))
            for kind, names in _alias_groups(entry):
                for alias in names:
                    self._add(alias, Hit(kind, actor=entry))
        for place in self.places:
            for alias in (place.name, *place.aliases):
                self._add(alias, Hit("place", place=place))
        self.sources = frozenset(fold(s) for s in self.sources)

    def _add(self, alias: str, hit: Hit) -> None:
        words = [t for t in self.tokenizer(alias) if t.strip()]
        if not words:
            return
        # spaCy splits "Эр-Рияд" at the hyphen, Natasha keeps "Папуа-Нова" one word: a
        # hyphenated alias is keyed both ways.
        spellings = [words, alias.split()] if "-" in alias and len(alias) > 1 else [words]
        for tokens in spellings:
            for key in itertools.product(*(alias_variants(w) for w in tokens)):
                hits = self.index.setdefault(key, [])
                if hit not in hits:
                    hits.append(hit)
                self.first_keys.add(key[0])
                if alias[:1].islower():
                    self.lowercase_keys.add(key)
            self.max_len = max(self.max_len, len(tokens))

    def similar_person(self, name: str) -> ActorEntry | None:
        """The known person an unknown full name is another spelling of, or None.

        Transliterations of one name differ by a letter or two (Umerov, Umierov, Umarov;
        Zakharova, Zacharova; Zelensky, Zelenskyj). Both the given name and the surname must
        meet a full Latin alias of the same person after :func:`spelling_key`, each equal or
        one edit apart (a surname of five letters or more); a name that meets two people is
        left unknown."""
        words = [w for w in fold(name).replace("-", " ").split() if w.isalpha()]
        if len(words) < 2:
            return None
        first, last = spelling_key(words[0]), spelling_key(words[-1])
        if len(last) < 5 or len(first) < 2:
            return None
        found = {
            entry.name: entry
            for probe in _deletions(last)
            for entry, surname, given in self._people.get(probe, ())
            if _one_edit(last, surname, given, first)
            or (within_one(last, surname) and given_key(first) in given)
        }
        return next(iter(found.values())) if len(found) == 1 else None

    def other_given_name(self, given: str, hits: Sequence[Hit]) -> bool:
        """``given`` (a word before a surname the gazetteer knows) is a given name, but not
        one of that person's: Oleksiy Kuleba is not Dmytro Kuleba."""
        key = fold(given)
        people = [h.actor for h in hits if h.actor is not None and h.actor.type == "person"]
        return (
            bool(people)
            and key in self.given_names
            and all(given_key(key) not in {given_key(g) for g in given_names_of(p)}
                    for p in people)
        )

    @functools.cached_property
    def given_name_keys(self) -> frozenset[str]:
        """:func:`~process.slavic.norm_word` keys of the given names of the known people
        (any case of a Cyrillic one meets its key)."""
        return frozenset(norm_word(name) for name in self.given_names)

    @functools.cached_property
    def given_names(self) -> frozenset[str]:
        """The given names of the known people, folded (not the titles some aliases open
        with: "Patriarch Kirill", "Sultan Haitham")."""
        return frozenset(
            name for e in self.actors if e.type == "person" for name in given_names_of(e)
        ) - TITLE_WORDS

    @functools.cached_property
    def ministries(self) -> dict[tuple[str | None, str], ActorEntry]:
        """(country, :func:`ministry_field`) → the state's ministry, from aliases that name
        it with its state: "Russian Defence Ministry", "Ministry of Foreign Affairs of
        Ukraine"."""
        out: dict[tuple[str | None, str], ActorEntry] = {}
        for org in self.actors:
            if org.type != "organization" or org.country is None:
                continue
            for alias in (org.name, *org.aliases):
                words = alias.split()
                for i in range(1, len(words)):
                    head, tail = " ".join(words[:i]), " ".join(words[i:])
                    if words[i] == "of" and i + 1 < len(words):
                        head, tail = " ".join(words[i + 1 :]), " ".join(words[:i])
                    field = ministry_field(tail)
                    owner = owner_name(head.split())
                    if field is not None and any(
                        h.actor is not None and h.actor.type == "state"
                        and h.actor.country == org.country for h in self.lookup(owner)
                    ):
                        out.setdefault((org.country, field), org)
        return out

    @functools.cached_property
    def _people(self) -> dict[str, list[tuple[ActorEntry, str, frozenset[str]]]]:
        """Surname keys and their one-letter deletions → (person, surname key, given-name
        keys)."""
        out: dict[str, list[tuple[ActorEntry, str, frozenset[str]]]] = {}
        for entry in self.actors:
            if entry.type != "person":
                continue
            pairs = {
                (first, spelling_key(w[-1]))
                for alias in (entry.name, *entry.aliases)
                if (w := fold(alias).replace("-", " ").split())
                and len(w) >= 2
                and all(x.isascii() and x.isalpha() for x in w)
                for first in (spelling_key(w[0]), given_key(w[0]))
            }
            for surname in {last for _, last in pairs}:
                given = frozenset(first for first, last in pairs if last == surname)
                for probe in _deletions(surname):
                    out.setdefault(probe, []).append((entry, surname, given))
        return out

    def key(self, text: str) -> tuple[str, ...]:
        """The matching key of a name: its tokens folded, Cyrillic ones without their case
        ending (:func:`~process.slavic.norm_word`), so Зеленского meets Зеленский."""
        return tuple(norm_word(t) for t in self.tokenizer(text) if t.strip())

    def lookup(self, text: str) -> list[Hit]:
        """Every meaning of ``text`` as a whole alias (empty if unknown)."""
        return list(self.index.get(self.key(text), ()))

    def lookup_tokens(self, folded: Sequence[str]) -> list[Hit]:
        return list(self.index.get(tuple(folded), ()))

    def is_source(self, text: str) -> bool:
        return fold(text) in self.sources or fold(text.removeprefix("the ")) in self.sources

    def canonical(self, name: str) -> str:
        """The canonical name for a name as people write it (unknown names: unchanged)."""
        for hit in self.lookup(name):
            if hit.actor is not None and hit.kind in ("alias", "weak", "capital"):
                return hit.actor.name
        return name


_MINISTRY = re.compile(
    r"(?:the )?(?:((?:national )?\w+(?: affairs)?) ministry"
    r"|ministry (?:of|for) (?:the )?(\w+(?: \w+){0,2}))"
)


def ministry_field(text: str) -> str | None:
    """The field of a ministry named by it alone ("Foreign Ministry", "Ministry of Foreign
    Affairs", "Ministry for Foreign Affairs" → "foreign"; "Ministry of National Defense",
    "National Defense Ministry" → "defence"), else None."""
    m = _MINISTRY.fullmatch(fold(text))
    if m is None:
        return None
    words = (m.group(1) or m.group(2)).removesuffix(" affairs").split()
    if "of" in words:  # "Ministry of Defence of Ukraine": the state is in it
        return None
    field = " ".join(w for w in words if w != "national")
    return "defence" if field == "defense" else field


@functools.lru_cache(maxsize=4096)
def given_names_of(entry: ActorEntry) -> frozenset[str]:
    """The first words of a person's full aliases, folded."""
    return frozenset(
        w[0] for alias in (entry.name, *entry.aliases) if len(w := fold(alias).split()) >= 2
    )


#: Letter groups that transliterations of one sound write differently, and their one form.
_SPELLINGS = (
    ("shch", "sh"), ("sch", "sh"), ("kh", "h"), ("ch", "h"), ("zh", "z"), ("tz", "z"),
    ("ts", "z"), ("ck", "k"), ("ph", "f"), ("w", "v"), ("y", "i"), ("j", "i"), ("x", "ks"),
)


def spelling_key(word: str) -> str:
    """A folded Latin word with transliteration variants merged (kh/ch → h, ts/tz → z,
    y/j → i, w → v) and doubled letters single: Zacharova and Zakharova, Zelenskyj and
    Zelensky meet."""
    for a, b in _SPELLINGS:
        word = word.replace(a, b)
    return "".join(ch for i, ch in enumerate(word) if i == 0 or ch != word[i - 1])


#: One given name in its Russian, Ukrainian and press spellings: Vladimir Zelensky is
#: Volodymyr Zelensky, Pavel Klimkin Pavlo Klimkin (not namesakes, as Oleksiy and Dmytro
#: Kuleba are).
_GIVEN_NAMES = """vladimir volodymyr wladimir | dmitry dmytro | alexander aleksandr oleksandr
    olexander | sergei serhiy sergiy | andrei andriy | pavel pavlo | nikolai mykola | alexei
    aleksei oleksiy olexiy | yuri yuriy | mikhail mykhailo mykhaylo | igor ihor | oleg oleh |
    vitaly vitali vitaliy | pyotr petr petro | grigory hryhoriy | anatoly anatoliy | vasily
    vasiliy vasyl | yevgeny evgeny yevhen | konstantin kostiantyn kostyantyn | vladislav
    vladyslav | vyacheslav viacheslav | maxim maksim maksym | denis denys | kirill kyrylo |
    yulia julia | olga olha | elena yelena olena | tatiana tetiana | natalia nataliya |
    irina iryna | svetlana svitlana | lyudmila liudmyla | galina halyna | valery valeriy |
    gennady hennadiy | bogdan bohdan | yaroslav iaroslav | stanislav stanislaw"""
_GIVEN_EQUIV = {
    spelling_key(name): spelling_key(group.split()[0])
    for group in _GIVEN_NAMES.split("|")
    for name in group.split()
}


def given_key(word: str) -> str:
    """:func:`spelling_key` of a folded given name, its Russian and Ukrainian forms one."""
    key = spelling_key(word)
    return _GIVEN_EQUIV.get(key, key)


def _deletions(word: str) -> set[str]:
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def _one_edit(a: str, b: str, given: frozenset[str], first: str) -> bool:
    """Surnames ``a``/``b`` at most one edit apart, and ``first`` a given name of ``given``
    (or one edit from one of four letters or more)."""
    if not within_one(a, b):
        return False
    return first in given or (len(first) >= 4 and any(within_one(first, g) for g in given))


def within_one(a: str, b: str) -> bool:
    """``a`` and ``b`` equal or one insertion, deletion or substitution apart."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _alias_groups(entry: ActorEntry) -> Iterable[tuple[AliasKind, tuple[str, ...]]]:
    return (
        ("alias", entry.aliases),
        ("weak", entry.weak_aliases),
        ("demonym", entry.demonyms),
        ("capital", entry.capitals),
    )


def parse_actors(data: Any, where: str) -> tuple[ActorEntry, ...]:
    items = _list_under(data, "actors", where)
    entries = tuple(_validate(ActorEntry, item, where, i) for i, item in enumerate(items))
    _check_unique(entries, where)
    return entries


def parse_places(data: Any, where: str) -> tuple[PlaceEntry, ...]:
    items = _list_under(data, "places", where)
    return tuple(_validate(PlaceEntry, item, where, i) for i, item in enumerate(items))


def parse_sources(data: Any, where: str) -> frozenset[str]:
    items = _list_under(data, "sources", where)
    if not all(isinstance(s, str) for s in items):
        raise GazetteerError(f"{where}: 'sources' must be a list of names")
    return frozenset(items)


def _list_under(data: Any, key: str, where: str) -> list[Any]:
    if not isinstance(data, Mapping) or not isinstance(data.get(key), list):
        raise GazetteerError(f"{where}: expected a mapping with a list under {key!r}")
    return list(data[key])


def _validate(model: type[ModelT], item: Any, where: str, i: int) -> ModelT:
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        name = item.get("name", "?") if isinstance(item, Mapping) else "?"
        first = exc.errors()[0]
        field_name = ".".join(str(p) for p in first["loc"]) or "entry"
        raise GazetteerError(
            f"{where}: entry #{i + 1} ({name}): {field_name}: {first['msg']}"
        ) from exc


def _check_unique(entries: Sequence[ActorEntry], where: str) -> None:
    seen: set[str] = set()
    for entry in entries:
        if fold(entry.name) in seen:
            raise GazetteerError(f"{where}: duplicate actor name {entry.name!r}")
        seen.add(fold(entry.name))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise GazetteerError(f"{path}: not valid YAML: {exc}") from exc


class Extension(BaseModel):
    """An ``actors.<name>.yaml`` file: names in other languages for the entries of
    ``actors.yaml`` and ``places.yaml`` (by canonical name), and entries of its own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    aliases: dict[str, tuple[str, ...]] = {}
    weak_aliases: dict[str, tuple[str, ...]] = {}
    demonyms: dict[str, tuple[str, ...]] = {}
    capitals: dict[str, tuple[str, ...]] = {}
    #: Armed forces: they stand for their state, as a demonym does where it acts (named in
    #: several words, or as ВСУ/ЗСУ, they always act: :func:`process.resolve._names_forces`).
    forces: dict[str, tuple[str, ...]] = {}
    new_actors: tuple[ActorEntry, ...] = ()
    places: dict[str, tuple[str, ...]] = {}
    new_places: tuple[PlaceEntry, ...] = ()
    sources: tuple[str, ...] = ()


def _extend(
    actors: tuple[ActorEntry, ...],
    places: tuple[PlaceEntry, ...],
    sources: frozenset[str],
    ext: Extension,
    where: str,
) -> tuple[tuple[ActorEntry, ...], tuple[PlaceEntry, ...], frozenset[str]]:
    known = {e.name: e for e in actors}
    fields = {"aliases": ext.aliases, "weak_aliases": ext.weak_aliases,
              "demonyms": {**ext.demonyms}, "capitals": ext.capitals}
    for name, forces in ext.forces.items():
        fields["demonyms"][name] = (*fields["demonyms"].get(name, ()), *forces)
    for field_name, additions in fields.items():
        for name, names in additions.items():
            entry = known.get(name)
            if entry is None:
                raise GazetteerError(f"{where}: {field_name}: no actor named {name!r}")
            if field_name in ("demonyms", "capitals") and entry.type != "state":
                raise GazetteerError(f"{where}: {field_name}: {name!r} is not a state")
            merged = tuple(dict.fromkeys((*getattr(entry, field_name), *names)))
            known[name] = entry.model_copy(update={field_name: merged})
    all_actors = (*known.values(), *ext.new_actors)
    _check_unique(all_actors, where)
    by_place = {p.name: p for p in places}
    for name, names in ext.places.items():
        place = by_place.get(name)
        if place is None:
            raise GazetteerError(f"{where}: places: no place named {name!r}")
        by_place[name] = place.model_copy(
            update={"aliases": tuple(dict.fromkeys((*place.aliases, *names)))}
        )
    return (tuple(all_actors), (*by_place.values(), *ext.new_places),
            sources | frozenset(ext.sources))


def load_gazetteer(data_dir: Path = DATA_DIR, tokenizer: Tokenizer = simple_tokens) -> Gazetteer:
    """Load ``actors.yaml``, ``places.yaml`` and ``sources.yaml`` from ``data_dir``, extended
    by every ``actors.<name>.yaml`` there (e.g. ``actors.ru-uk.yaml``: Cyrillic names)."""
    actors = parse_actors(_read_yaml(data_dir / "actors.yaml"), str(data_dir / "actors.yaml"))
    places_path, sources_path = data_dir / "places.yaml", data_dir / "sources.yaml"
    places = parse_places(_read_yaml(places_path), str(places_path)) if places_path.exists() else ()
    sources = (
        parse_sources(_read_yaml(sources_path), str(sources_path))
        if sources_path.exists()
        else frozenset()
    )
    for path in sorted(data_dir.glob("actors.*.yaml")):
        try:
            ext = Extension.model_validate(_read_yaml(path) or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "file"
            raise GazetteerError(f"{path}: {loc}: {first['msg']}") from exc
        actors, places, sources = _extend(actors, places, sources, ext, str(path))
    return Gazetteer(actors, places, sources, tokenizer)
