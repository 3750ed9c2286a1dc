"""Russian and Ukrainian words as plain strings: inflection-tolerant keys and transliteration.

Names and topic terms are declined in Russian and Ukrainian (Зеленский, Зеленского,
Зеленським; переговоры, переговоров): :func:`stem` cuts a case ending off a folded Cyrillic
word so that every form of a name meets its nominative in the gazetteer, and
:func:`term_regex` lets a topic term written in the nominative match its other forms. The
rule is deliberately light (a list of endings, no dictionary): names the morphology
dictionaries do not know — Уиткофф, Умєров, Сибіга — decline like any other word.

:func:`to_latin` writes a Russian or Ukrainian name the way the English-language press does
(Russian: the Wikipedia scheme of ``iuliia``; Ukrainian: the national 2010 scheme, with
"-ій" written "-iy" as most English-language outlets do), so that an unknown person found by
the Russian NER is reported under an English name like everyone else.
"""

from __future__ import annotations

import functools
import re

from .normalize import fold

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
#: Case endings of folded words (й → и, ё → е, ї → і by :func:`fold`), longest first.
ENDINGS = tuple(
    sorted(
        set(
            """ого его ому ему ими ыми ами ями иями ием иеи ией ии ыи еи ои ия ие ию ая яя ое ее
            ые ую юю ым им ом ем ых их ах ях ам ям ою ею ов ев іи ів ові еві оі ія ію ії іі ім
            ому ією єю ея еем ієм єм а я о е ы и у ю ь і є""".split()
        ),
        key=len,
        reverse=True,
    )
)
#: Endings that belong to the surname, not to the case (Лавров, Медведев, Путин): only cut
#: when something follows them.
KEEP = frozenset({"ов", "ев"})
MIN_STEM = 3


def is_cyrillic(word: str) -> bool:
    return bool(_CYRILLIC.search(word))


@functools.lru_cache(maxsize=100_000)
def stem(folded: str) -> str:
    """The word without its case ending (folded input): Зеленского → зеленск, России → росс.
    Words too short to cut stay whole."""
    for ending in ENDINGS:
        if ending in KEEP:
            continue
        if folded.endswith(ending) and len(folded) - len(ending) >= MIN_STEM:
            cut = folded[: -len(ending)]
            # A soft sign before the ending is the stem's (тристоронньої, тристороння):
            return cut[:-1] if cut.endswith("ь") and len(cut) > MIN_STEM else cut
    return folded


def norm_word(word: str) -> str:
    """The matching key of one token: folded, and stemmed if Cyrillic and not an acronym
    (США, НАТО, ЗСУ stay whole)."""
    folded = fold(word)
    if not is_cyrillic(folded) or (word.isupper() and len(word) > 1):
        return folded
    return stem(folded)


def alias_variants(word: str) -> tuple[str, ...]:
    """Keys of an alias word (in the nominative): its stem; the whole word too, where what
    looked like an ending is part of the name and the other cases keep it (Рустем → Рустема:
    рустем, Амстердам → Амстердама); for Ukrainian nominatives in -ів the form the other
    cases take (Київ → Києва: києв; Харків → Харкова: харков); for a fleeting vowel the
    form without it (Египет → Египта: египт)."""
    key = norm_word(word)
    folded = fold(word)
    if not is_cyrillic(folded):
        return (key,)
    keys = [key, folded]
    if folded.endswith("ів") and len(folded) > 3:
        keys += [stem(folded[:-2] + s) for s in ("ов", "ев", "єв")]
    plural = folded.endswith(("ы", "и")) and not folded.endswith(("ии", "ыи", "іи"))
    if plural and key != folded and len(key) >= MIN_STEM:
        # A plural's genitive keeps -ов/-ев, which the stemmer leaves on (a surname's):
        # Эмираты → Эмиратов, Штаты → Штатов.
        keys += [key + "ов", key + "ев"]
    if folded.endswith(_FLEETING) and len(folded) >= 5:
        # A vowel the other cases drop: Египет → Египта, Єгипет → Єгипту, Павел → Павла.
        keys.append(stem(folded[:-2] + folded[-1] + "а"))
    alternated = _UK_ALTERNATION.sub(lambda m: m.group(1) + "о" + m.group(2), folded)
    if alternated != folded:  # Ukrainian і in a closed last syllable: дім → дому, кіт → кота
        keys.append(stem(alternated + "а"))
    return tuple(dict.fromkeys(keys))


#: Endings whose vowel drops in the other cases (a fleeting vowel).
_FLEETING = ("ет", "ел", "ец", "ок", "ек")
#: A Ukrainian word whose last syllable closes on і (дім, Ужгород's "-від"): the other cases
#: open the syllable and the і returns to о (дому) — or е, which the -ів rule above covers.
_UK_ALTERNATION = re.compile(r"^(.*[^аеиоуяюєіі])і([^аеиоуяюєіьі']{1,2})$")


def term_regex(folded_word: str) -> str:
    """A regex (on folded text) for one word of a topic term: Cyrillic words take any case
    ending (up to four letters), other words match as written."""
    if not is_cyrillic(folded_word) or folded_word.endswith("*"):
        return re.escape(folded_word)
    return re.escape(stem(folded_word)) + r"\w{0,4}"


# --------------------------------------------------------------- transliteration

_UK = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "h",
    "ґ": "g",
    "д": "d",
    "е": "e",
    "є": "ie",
    "ж": "zh",
    "з": "z",
    "и": "y",
    "і": "i",
    "ї": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ь": "",
    "ю": "iu",
    "я": "ia",
    "'": "",
    "\u2019": "",
    "\u02bc": "",
    "\u2018": "",
    "`": "",
}
#: Word-initial forms of the 2010 scheme.
_UK_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
_UK_LETTERS = frozenset("ієїґ")
#: Apostrophes, all read alike: ASCII, typographic, opening quote, backtick and the Ukrainian
#: letter apostrophe (U+02BC). After one, є ї ю я take their word-initial forms, as the
#: English-language press writes "В'ячеслав" (Vyacheslav) and "Дар'я" (Darya).
_APOSTROPHE_CHARS = "'’‘`ʼ"
#: An apostrophe between Cyrillic letters: Ukrainian spelling ("Мар'яна"); Russian writes ъ.
APOSTROPHE_IN_WORD = re.compile(
    rf"(?<=[а-яёіїєґА-ЯЁІЇЄҐ])[{_APOSTROPHE_CHARS}](?=[а-яёіїєґА-ЯЁІЇЄҐ])"
)


def to_latin(name: str, lang: str) -> str:
    """An English-press spelling of a Cyrillic name (``lang``: ``ru`` or ``uk``; a name with
    Ukrainian-only letters is read as Ukrainian). Latin text is returned unchanged."""
    if not is_cyrillic(name):
        return name
    if lang == "uk" or _UK_LETTERS & set(name.lower()) or APOSTROPHE_IN_WORD.search(name):
        return " ".join(_uk_word(w) for w in name.split())
    import iuliia

    return " ".join(_press(w) for w in str(iuliia.WIKIPEDIA.translate(name)).split())


#: Where the English-language press parts from the Wikipedia scheme: Sergei, Nikolai,
#: Andrei, Alexei, Yuri, Alexander, Maria, Darsalia (the scheme: Sergey, Nikolay, Andrey,
#: Aleksey, Yury, Aleksandr, Mariya, Darsaliya).
_PRESS = (
    (re.compile(r"ey$"), "ei"),
    (re.compile(r"ay$"), "ai"),
    (re.compile(r"iya$"), "ia"),
    (re.compile(r"^Yury$"), "Yuri"),
    (re.compile(r"^Aleksandr$"), "Alexander"),
    (re.compile(r"^Aleks"), "Alex"),
)


def _press(word: str) -> str:
    for pattern, repl in _PRESS:
        word = pattern.sub(repl, word)
    return word


def _uk_word(word: str) -> str:
    out: list[str] = []
    lower = word.lower()
    for i, ch in enumerate(lower):
        if ch == "г" and i and lower[i - 1] == "з":
            latin = "gh"  # зг → zgh, not zh
        elif ch == "о" and i and lower[i - 1] == "ь":
            latin = "yo"  # ьо: Kovalyov, as the English-language press writes Ковальов
        elif i == 0 or not lower[i - 1].isalpha() or lower[i - 1] in _APOSTROPHE_CHARS:
            latin = _UK_INITIAL.get(ch, _UK.get(ch, ch))
        else:
            latin = _UK.get(ch, ch)
        if word[i].isupper() and latin:
            latin = latin[0].upper() + latin[1:]
        out.append(latin)
    text = "".join(out)
    # "-ій"/"-ий" at the end of a name: Andriy, Serhiy, Syrskyi; "-ія": Yulia, Maria,
    # Arakhamia (the press's usual forms; the 2010 scheme writes Yuliia).
    return re.sub(r"iia$", "ia", re.sub(r"ii$", "iy", text))
