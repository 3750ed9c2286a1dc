from __future__ import annotations

import re
from pathlib import Path

import pytest

from process.gazetteer import GazetteerError, load_gazetteer, parse_actors


def test_shipped_gazetteer_loads_and_resolves_variants() -> None:
    gaz = load_gazetteer()
    for variant in ("Zelenskyy", "Zelenskiy", "Зеленський", "Selenskyj", "Zelensky"):
        assert gaz.canonical(variant) == "Volodymyr Zelensky"
    assert gaz.canonical("Erdoğan") == gaz.canonical("Erdogan") == "Recep Tayyip Erdogan"
    assert gaz.canonical("Turkey") == gaz.canonical("Türkiye") == "Türkiye"
    assert gaz.canonical("Путин") == "Vladimir Putin"
    assert gaz.canonical("Кремль") == "Kremlin"
    assert gaz.canonical("UN") == "United Nations"


def test_capitals_and_demonyms_are_marked() -> None:
    gaz = load_gazetteer()
    assert [h.kind for h in gaz.lookup("Kyiv")] == ["capital"]
    assert [h.kind for h in gaz.lookup("Russian")] == ["demonym"]
    kremlin = gaz.lookup("Kremlin")[0].actor
    assert kremlin is not None and (kremlin.type, kremlin.country) == ("organization", "RU")


def test_news_outlets_are_sources() -> None:
    gaz = load_gazetteer()
    assert gaz.is_source("Reuters") and gaz.is_source("ABC News") and gaz.is_source("the BBC")
    assert not gaz.is_source("Kremlin")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"people": []}, "list under 'actors'"),
        ({"actors": [{"name": "X", "type": "king"}]}, "entry #1 (X): type"),
        ({"actors": [{"name": "X", "type": "state", "country": "Ukraine"}]}, "alpha-2"),
        ({"actors": [{"name": "X", "type": "state", "country": False}]}, "entry #1 (X): country"),
        ({"actors": [{"name": "X", "type": "person", "alias": ["Y"]}]}, "alias"),
        (
            {"actors": [{"name": "X", "type": "person"}, {"name": "x", "type": "person"}]},
            "duplicate",
        ),
    ],
)
def test_invalid_actor_data_names_file_entry_and_field(data: object, message: str) -> None:
    with pytest.raises(GazetteerError, match="actors.yaml") as info:
        parse_actors(data, "actors.yaml")
    assert message in str(info.value)


def test_invalid_yaml_file(tmp_path: Path) -> None:
    (tmp_path / "actors.yaml").write_text("actors: [unclosed", encoding="utf-8")
    with pytest.raises(GazetteerError, match="not valid YAML"):
        load_gazetteer(tmp_path)


def test_cyrillic_names_in_every_case_meet_one_actor() -> None:
    gaz = load_gazetteer()
    for form in ("Зеленского", "Зеленським", "Володимира Зеленського", "Zelenskyy", "Selenskyj"):
        assert gaz.canonical(form) == "Volodymyr Zelensky", form
    assert gaz.canonical("Пєскова") == gaz.canonical("Пескову") == "Dmitry Peskov"
    assert gaz.canonical("Сполучених Штатів") == "United States"
    assert gaz.canonical("Києва") == "Ukraine"  # the capital, standing for its state
    assert ("рф",) in gaz.lowercase_keys  # Ukrainian outlets' own lower-case style


def _write(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")


def test_extension_files_merge_by_canonical_name(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "actors.yaml",
        "actors:\n  - {name: Ukraine, type: state, country: UA, aliases: [Ukraine]}\n",
    )
    _write(
        tmp_path,
        "actors.xx.yaml",
        "aliases:\n  Ukraine: [Украина]\ndemonyms:\n  Ukraine: [украинский]\n"
        "forces:\n  Ukraine: [ВСУ]\n"
        "new_actors:\n  - {name: Trilateral Contact Group, type: organization,"
        " aliases: [TCG, Трехсторонняя контактная группа]}\n",
    )
    gaz = load_gazetteer(tmp_path)
    assert gaz.canonical("Украины") == "Ukraine"
    assert [h.kind for h in gaz.lookup("ВСУ")] == ["demonym"]  # forces act for the state
    assert gaz.canonical("Трехсторонней контактной группы") == "Trilateral Contact Group"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "aliases:\n  Atlantis: [Атлантида]\n",
            "actors.xx.yaml: aliases: no actor named 'Atlantis'",
        ),
        ("capitals:\n  NATO: [Брюссель]\n", "capitals: 'NATO' is not a state"),
        ("colours: {}\n", "actors.xx.yaml: colours: Extra inputs"),
        ("new_actors:\n  - {name: NATO, type: organization}\n", "duplicate actor name 'NATO'"),
    ],
)
def test_extension_file_errors_name_the_file_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    _write(
        tmp_path, "actors.yaml", "actors:\n  - {name: NATO, type: organization, aliases: [NATO]}\n"
    )
    _write(tmp_path, "actors.xx.yaml", text)
    with pytest.raises(GazetteerError, match=re.escape(message)):
        load_gazetteer(tmp_path)


@pytest.mark.parametrize(
    ("written", "person"),
    [
        ("Rustem Umarov", "Rustem Umerov"),  # one letter apart
        ("Rustem Umierov", "Rustem Umerov"),  # Polish-style transliteration
        ("Maria Zacharova", "Maria Zakharova"),  # German-style ch for kh
        ("Volodymyr Zelenskyj", "Volodymyr Zelensky"),
        ("Dmitri Peskow", "Dmitry Peskov"),
        ("Sergey Lavrov", "Sergei Lavrov"),
        ("Pavel Klimkin", "Pavlo Klimkin"),  # the Russian form of his Ukrainian given name
        ("Serhiy Nikiforov", "Serhiy Nykyforov"),
        ("Volodomyr Zelensky", "Volodymyr Zelensky"),  # a typo of a name with other forms
    ],
)
def test_another_spelling_of_a_known_full_name_is_that_person(written: str, person: str) -> None:
    entry = load_gazetteer().similar_person(written)
    assert entry is not None and entry.name == person


@pytest.mark.parametrize(
    "written",
    [
        "Oleksiy Kuleba",  # the surname of Dmytro Kuleba, another man's given name
        "Lavrov",  # a surname alone is the alias index's business, not a spelling's
        "John Smith",
        "Vladimir Putinov",  # two edits from Putin
        "Christopher Gray",  # a short surname one letter from Christopher Wray's: another man
    ],
)
def test_other_names_are_not_taken_for_a_known_person(written: str) -> None:
    assert load_gazetteer().similar_person(written) is None


def test_a_given_name_in_its_russian_form_is_no_namesake() -> None:
    gaz = load_gazetteer()
    hits = gaz.lookup("Zelensky")
    assert not gaz.other_given_name("Vladimir", hits)  # Volodymyr in its Russian form
    assert gaz.other_given_name("Oleksiy", gaz.lookup("Kuleba"))  # Dmytro's namesake
