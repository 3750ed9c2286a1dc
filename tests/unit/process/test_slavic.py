"""Russian and Ukrainian words: case-tolerant keys, topic terms in every case, Latin names."""

from __future__ import annotations

import re

import pytest

from process.lang import detect_language
from process.normalize import fold
from process.slavic import alias_variants, norm_word, term_regex, to_latin
from process.slavic_nlp import sentence_breaks, whole_words
from process.topics import term_pattern


@pytest.mark.parametrize(
    "forms",
    [
        ["Зеленский", "Зеленского", "Зеленскому", "Зеленским", "Зеленском"],
        ["Зеленський", "Зеленського", "Зеленському", "Зеленським"],
        ["Путин", "Путина", "Путину", "Путиным"],
        ["Песков", "Пескова", "Песковым"],  # -ов belongs to the name
        ["Россия", "России", "Россией", "Россию"],
        ["Росія", "Росії", "Росією", "Росію"],
        ["Сергей", "Сергея", "Сергеем"],
        ["Андрій", "Андрія", "Андрієм"],
        ["Уиткофф", "Уиткоффа", "Уиткоффом"],  # a name no dictionary knows
        ["Кремль", "Кремля", "Кремлем"],
    ],
)
def test_every_case_form_has_the_same_key(forms: list[str]) -> None:
    assert len({norm_word(w) for w in forms}) == 1, [norm_word(w) for w in forms]


def test_acronyms_and_latin_words_are_only_folded() -> None:
    assert norm_word("США") == "сша" and norm_word("НАТО") == "нато"
    assert norm_word("Zelenskyy") == "zelenskyy"


def test_alias_keys_cover_what_the_stem_cuts_and_ukrainian_i_o_alternation() -> None:
    assert norm_word("Рустема") in alias_variants("Рустем")  # -ем is part of the name
    assert norm_word("Києва") in alias_variants("Київ")
    assert norm_word("Харкова") in alias_variants("Харків")
    assert norm_word("дому") in alias_variants("дім")  # Білий дім → у Білому домі
    assert norm_word("Эмиратов") in alias_variants("Эмираты")  # a plural's genitive keeps -ов
    assert norm_word("Рустов") not in alias_variants("Рустем")  # ... a singular's does not
    assert norm_word("Египта") in alias_variants("Египет")  # a fleeting vowel
    assert norm_word("Єгипту") in alias_variants("Єгипет")


def test_a_soft_sign_before_the_ending_is_the_stems() -> None:
    assert norm_word("Тристоронньої") == norm_word("Тристороння") == norm_word("тристоронню")


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("мирные переговоры", "начало мирных переговоров в Стамбуле"),
        ("прекращение огня", "о прекращении огня на 30 дней"),
        ("мирний план", "щодо мирного плану США"),
        ("перемир'я", "порушення перемир’я"),
    ],
)
def test_topic_terms_match_other_cases(term: str, text: str) -> None:
    assert term_pattern(term).search(fold(text))


def test_term_regex_leaves_latin_words_alone() -> None:
    assert term_regex("talks") == re.escape("talks")
    assert not term_pattern("talks").search(fold("talkshow"))


@pytest.mark.parametrize(
    ("name", "lang", "latin"),
    [
        ("Дмитрий Песков", "ru", "Dmitry Peskov"),
        ("Сергей Собянин", "ru", "Sergei Sobyanin"),
        ("Александр Фомин", "ru", "Alexander Fomin"),
        ("Андрій Єрмак", "uk", "Andriy Yermak"),
        ("Олександр Сирський", "uk", "Oleksandr Syrskyi"),
        ("Ірина Верещук", "uk", "Iryna Vereshchuk"),
        ("Згурський", "uk", "Zghurskyi"),
        ("Андрій Ковальов", "uk", "Andriy Kovalyov"),
        ("Лаша Дарсалия", "ru", "Lasha Darsalia"),
        ("Мария Захарова", "ru", "Maria Zakharova"),
        ("Юлія Свириденко", "uk", "Yulia Svyrydenko"),
        ("Давид Арахамія", "uk", "Davyd Arakhamia"),
        ("Rustem Umerov", "ru", "Rustem Umerov"),
    ],
)
def test_names_in_latin_letters_as_the_press_writes_them(name: str, lang: str, latin: str) -> None:
    assert to_latin(name, lang) == latin


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The talks in Istanbul ended and the delegations went home.", "en"),
        ("Die Gespräche in Istanbul sind ohne Ergebnis zu Ende gegangen.", "de"),
        ("Переговоры в Стамбуле закончились без результата, делегации уехали.", "ru"),
        ("Переговори у Стамбулі завершилися без результату, делегації поїхали.", "uk"),
        ("Мирні переговори", "uk"),  # short: script and letters decide
        ("Kremlin open to talks", "en"),  # short Latin: the default
        ("", "en"),
        ("12 345 !!!", "en"),
    ],
)
def test_language_identification(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("в ДНР\n\nВС России", "в ДНР.\nВС России"),  # the headline, joined with a blank line
        ("Итоги  \n\nДалее", "Итоги  .\nДалее"),
        ("конец.\n\nНачало", "конец.\n\nНачало"),  # ended already
        ("итог:\n\nсписок", "итог:\n\nсписок"),
        ("строка\nстрока", "строка\nстрока"),  # a full stop would join the words
        ("переговоры с\n  Украиной", "переговоры с\n  Украиной"),  # one line break, indented
        ("Заголовок\r\n\r\nТекст", "Заголовок\r.\r\nТекст"),
    ],
)
def test_a_line_without_a_full_stop_ends_its_sentence_at_a_paragraph_break(
    text: str, expected: str
) -> None:
    assert sentence_breaks(text) == expected


def test_an_apostrophe_inside_a_cyrillic_word_keeps_the_word_whole() -> None:
    text = "Прем’єр-міністр і Вʼячеслав Ар'єв, Дар‘я, Мар`яна, 'цитата' та O’Brien"
    got = whole_words(text)
    assert got == "Премʼєр-міністр і Вʼячеслав Арʼєв, Дарʼя, Марʼяна, 'цитата' та O’Brien"
    assert len(got) == len(text)  # every offset stays


@pytest.mark.parametrize("apostrophe", ["'", "’", "‘", "`", "ʼ"])
def test_a_name_with_an_apostrophe_is_spelt_alike_whichever_apostrophe(apostrophe: str) -> None:
    # word-initial forms after it, as the press writes them; Ukrainian even in a Russian
    # text (Russian spelling has no apostrophe)
    assert to_latin(f"В{apostrophe}ячеслав Дар{apostrophe}я", "uk") == "Vyacheslav Darya"
    assert to_latin(f"Мар{apostrophe}яна Петренко", "ru") == "Maryana Petrenko"
