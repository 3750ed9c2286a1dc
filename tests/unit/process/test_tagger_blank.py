"""The whole Tagger on ``spacy.blank("en")`` + an EntityRuler: no model, no parse."""

from __future__ import annotations

import pytest
import spacy

from newsmon.schema import Tags
from process.lang import detect_language
from process.tagger import Tagger


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([  # type: ignore[attr-defined]
        {"label": "PERSON", "pattern": "Zelensky Invites"},
        {"label": "PERSON", "pattern": "Kyiv"},
        {"label": "ORG", "pattern": "Reuters"},
        {"label": "PERSON", "pattern": "Ro Khanna"},
        {"label": "PERSON", "pattern": "Khanna"},
    ])
    return Tagger(nlp)


def test_tag_batch_keeps_order_and_types(tagger: Tagger) -> None:
    tags = tagger.tag_batch([("Zelensky Invites Putin to Istanbul", "Kyiv said, Reuters reported."),
                             ("", "")])
    assert len(tags) == 2 and all(isinstance(t, Tags) for t in tags)
    names = {a.name for a in tags[0].actors}
    assert "Volodymyr Zelensky" in names and "Vladimir Putin" in names
    assert not names & {"Zelensky Invites", "Kyiv", "Reuters"}
    assert {p.name for p in tags[0].places} >= {"Istanbul", "Kyiv"}
    assert tags[1].actors == () and tags[1].topics == ()


def test_surname_resolution_through_the_tagger(tagger: Tagger) -> None:
    (tags,) = tagger.tag_batch([("Talks", "Ro Khanna spoke. Later Khanna spoke again.")])
    khanna = [a for a in tags.actors if a.name == "Ro Khanna"]
    assert khanna and khanna[0].mentions == 2


def test_non_english_text_does_not_crash_and_is_labelled(tagger: Tagger) -> None:
    (de, ru, junk) = tagger.tag_batch([
        ("Selenskyj lädt Putin ein", "Der ukrainische Präsident und die Regierung in Kiew wollen "
         "einen Waffenstillstand mit Russland und Friedensgespräche in der Türkei."),
        ("Зеленський запросив Путіна", "Україна та Росія і переговори про перемир'я в Стамбулі."),
        ("\x00\ufffd", "\u200b" * 10),
    ])
    assert de.lang == "de" and de.tagged_by.endswith("+gazetteer")
    assert {"Volodymyr Zelensky", "Vladimir Putin", "Russia"} <= {a.name for a in de.actors}
    assert [t.name for t in de.topics] == ["peace_talks"]
    assert ru.lang == "uk" and "Volodymyr Zelensky" in {a.name for a in ru.actors}
    assert junk.lang == "en"


def test_language_detection() -> None:
    assert detect_language("The talks in Istanbul ended and the delegations went home.") == "en"
    assert detect_language("Die Gespräche in Istanbul sind ohne Ergebnis zu Ende gegangen.") == "de"
    assert detect_language("I colloqui di pace sono finiti senza un accordo per la tregua.") == "it"
    assert detect_language("Переговоры в Стамбуле закончились без результата, это не так.") == "ru"
