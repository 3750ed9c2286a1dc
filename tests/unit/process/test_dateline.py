"""Datelines: the shapes real reports open with (each example is the start of an item in
tests/data/corpus/), and openings that are the first sentence, which must stay whole."""

from __future__ import annotations

import pytest

from process.dateline import dateline_end, strip_dateline

DATELINES = [
    ("MOSCOW (Reuters) - ", "Russia reserves the right to withdraw"),
    ("MOSCOW (Reuters) -", "Russia said on Saturday that its forces"),
    ("BEIJING, March 5 (Reuters) - ", "Chinese President Xi Jinping told"),
    ("KYIV, Ukraine (AP) — ", "More than 20 people have been killed"),
    ("KYIV, Ukraine, Nov 13, (AP): ", "As Russia’s renewed attacks"),
    ("JEDDAH, Saudi Arabia, March 11 (Xinhua) -- ", "Ukraine on Tuesday signaled"),
    ("ABU DHABI, Jan. 23 (Xinhua) -- ", "A trilateral meeting between"),
    ("HAVANA, Jan 23, 2024 (BSS/AFP) - ", "Colombia's government and the"),
    ("Moscow, March 28, (dpa/GNA) – ", "The Kremlin says face-to-face"),
    ("Rome, 15 May (LaPresse) – ", "The duration of the resumption"),
    ("KIEV (UrduPoint News / Sputnik - 08th November, 2019) ", "Ukrainian President"),
    ("MOSCOW, November 1. /TASS/. ", "Holding elections in Ukraine is still"),
    ("MOSCOW, September 18./TASS/. ", "Russian Foreign Minister Sergey Lavrov"),
    ("ISTANBUL, TURKEY | TASS | ", "The second round of direct talks"),
    ("YEREVAN, MARCH 18, ARMENPRESS. ", "With 99.43% of ballots counted"),
    ("NEW DELHI, 18 May: ", "There is “no expiry date”"),
    ("RABAT, Morocco -- ", "The U.S. remains skeptical"),
    ("KYIV, Ukraine: ", "As Russia's renewed strikes"),
    ("WASHINGTON — ", "Progressive House Democrats on"),
    ("KYIV -- ", "A new round of key talks"),
    ("Abu Dhabi, UAE – ", "The United Arab Emirates announced"),
    ("МОСКВА, 5 мар - РИА Новости. ", "При возвращении российских военнослужащих"),
    ("МОСКВА, 24 сентября. /ТАСС/. ", "Москва готова к диалогу"),
    ("Москва. 28 декабря. INTERFAX.RU - ", "Главы МИД Таиланда и Камбоджи"),
    ("КИШИНЕВ, 14 ноя — Sputnik. ", "Впервые за долгое время"),
    ("СИМФЕРОПОЛЬ, 7 фев – РИА Новости Крым. ", "Депутаты Верховной рады"),
    ("Эр-Рияд, 2 июня. ", "Королевство Саудовская Аравия"),
]
NO_DATELINE = [
    "Russia, Ukraine, the US and the European Union have said that all sides agree.",
    "The United Nations (UN) Special Envoy for Yemen Hans Grundberg on Wednesday met.",
    "Президент Украины Владимир Зеленский, РФ – Владимир Путин, Франции – Эммануэль Макрон.",
    "Mediator Qatar said on Monday, November 27, a deal had been reached.",
    "Thursday, February 24, 2022, is a day we will never forget.",
    "On April 30, the United States and Ukraine signed a bilateral agreement.",
    "Mumbai, April 3 Ukraine on Wednesday lowered the military conscription age.",
    "Russia said on Monday it was open to talks.",
    "NATO: Russia must withdraw its forces from Ukraine, the alliance said.",
    "НАТО — главная угроза, заявил Лавров.",
    "",
]


@pytest.mark.parametrize(("dateline", "rest"), DATELINES)
def test_the_dateline_is_cut_and_the_report_kept(dateline: str, rest: str) -> None:
    text = dateline + rest + " and more."
    assert dateline_end(text) == len(dateline)
    assert strip_dateline("\n " + text) == rest + " and more."


@pytest.mark.parametrize("text", NO_DATELINE)
def test_an_opening_sentence_is_not_a_dateline(text: str) -> None:
    assert dateline_end(text) == 0
    assert strip_dateline(text) == text


def test_only_the_start_is_read() -> None:
    text = "Talks resumed. MOSCOW (Reuters) - Russia said it was ready."
    assert dateline_end(text) == 0
    assert dateline_end("X" * 200 + " (Reuters) - text") == 0
