"""The actor gazetteer: YAML data → an alias index over folded token sequences.

Pure data and lookups; no spaCy. The tokenizer used to split aliases is injected so that
aliases split the same way as the text they are matched against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from newsmon.schema import ActorType

from .normalize import fold, simple_tokens

DATA_DIR = Path(__file__).parent / "data"
AliasKind = Literal["alias", "weak", "demonym", "capital", "place"]
Tokenizer = Callable[[str], Sequence[str]]
ModelT = TypeVar("ModelT", bound=BaseModel)


class GazetteerError(ValueError):
    """Gazetteer data that cannot be used; the message names the file and the entry."""


class ActorEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    type: ActorType
    country: str | None = None
    roles: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    weak_aliases: tuple[str, ...] = ()
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
        key = self.key(alias)
        if not key:
            return
        hits = self.index.setdefault(key, [])
        if hit not in hits:
            hits.append(hit)
        self.max_len = max(self.max_len, len(key))

    def key(self, text: str) -> tuple[str, ...]:
        return tuple(fold(t) for t in self.tokenizer(text) if t.strip())

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


def load_gazetteer(data_dir: Path = DATA_DIR, tokenizer: Tokenizer = simple_tokens) -> Gazetteer:
    """Load ``actors.yaml``, ``places.yaml`` and ``sources.yaml`` from ``data_dir``."""
    actors = parse_actors(_read_yaml(data_dir / "actors.yaml"), str(data_dir / "actors.yaml"))
    places_path, sources_path = data_dir / "places.yaml", data_dir / "sources.yaml"
    places = parse_places(_read_yaml(places_path), str(places_path)) if places_path.exists() else ()
    sources = (
        parse_sources(_read_yaml(sources_path), str(sources_path))
        if sources_path.exists()
        else frozenset()
    )
    return Gazetteer(actors, places, sources, tokenizer)
