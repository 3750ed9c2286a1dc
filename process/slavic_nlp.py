"""Russian and Ukrainian text → :class:`~process.mentions.Candidate` list, with Natasha.

Natasha (Slovnet models and Navec embeddings bundled in its wheels; no download) segments the
text, tags morphology, parses dependencies and finds PER/LOC/ORG names. From its document:

- gazetteer names over the tokens, by inflection-tolerant keys (:func:`process.slavic.norm_word`:
  Зеленского, Зеленським → Zelensky; демонимы "российская делегация" count where they act);
- unknown people from Natasha's PER spans, put in the nominative (its morphology vocabulary) and
  written in Latin letters (:func:`process.slavic.to_latin`); unknown organisations are left
  out (no English name can be made for them), unknown places become places;
- the role of every mention from the dependency parse: the subject of a speech verb speaks
  ("заявил Песков", "по словам Пескова"), a subject acts, a state named with its delegation or
  forces acts through them ("делегация Украины", "российские войска"), "переговоры с Украиной"
  is a meeting party, "в Турции" is a place.

The models are Russian; Ukrainian text gets the same treatment, and the gazetteer (which
knows Ukrainian spellings) carries most of it: the Russian NER's Ukrainian PER spans are kept
only when they look like a person's full name.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .gazetteer import ActorEntry, Gazetteer, Hit, given_key, given_names_of, within_one
from .mentions import Candidate
from .normalize import fold
from .roles import Role
from .slavic import APOSTROPHE_IN_WORD, norm_word, to_latin


def _stems(words: str) -> tuple[str, ...]:
    """Word stems as the text's words are keyed (:func:`process.normalize.fold`: й → и,
    ї → і, ё → е), so that a stem written with й still meets its words (войск → воиск)."""
    return tuple(dict.fromkeys(fold(w) for w in words.split()))


#: Stems of speech verbs and nouns: "заявил", "повідомив", "по словам".
SPEECH = _stems(
    """заяв сообщ сказа отмет подчеркн указа добав призв призыв предлож пообещ предупред
    обвин ответ напис уточн призна подтверд отверг отказ потребова напомн поясн говор
    рассказ выступ считает счита повідом наголос зазнач запропон підтверд відкин пообіця
    поперед заклик звинув відпов написа уточн визна вважа розпов виступ підкресл дода
    слов заявлени заяв"""
)
#: Stems of nouns through which a state acts: "делегация Украины", "российские войска",
#: "російські окупанти".
GOVERNMENT = _stems(
    """делегац войск арми сил военн власт правительств министерств мид ведомств сторон
    представител переговорщик командовани руководств кабмин уряд міністерств делегаці
    військ збройн влад представник переговірник посольств дипломат генштаб минобороны
    міноборони удар атак наступлени обстрел обстріл предложени пропозиці план оккупант
    окупант агресор военнослужащ військовослужбовц солдат бойц пограничн прикордонн
    спецслужб разведк розвідк флот авиаци авіаці захватчик загарбник агрессор дрон
    беспилотник безпілотник чиновник посадовц посадовец председательств головуванн
    посредник посередник"""
)
#: Stems of nouns through which a state speaks when they are the subject of a speech verb
#: ("официальный египетский источник заявил"; not "российские источники энергии").
SOURCE = _stems("источник джерел")
#: Stems of words of meeting: "переговоры с Украиной", "встретился с Путиным".
MEETING = _stems(
    """переговор перемов встреч встрет встрі зустр разговор розмов говори диалог діалог
    договор домов саммит саміт созвон консультац"""
)
#: Stems of words of office before a name: "Президент України Володимир Зеленський".
TITLES = _stems(
    """президент прем'єр премьер міністр министр глав голов посол посл речни спікер спикер
    представ радник советник помічник помощник заступник заместител секретар генсек лідер
    лидер керівник руковод командувач командующ начальник канцлер корол мер мэр губернатор
    депутат сенатор очільник спецпосланц спецпредстав посланник посланц віцепрем вицепрем
    прессекретар пресссекретар"""
)
#: Words of wishing, offering and intending: "готов встретиться", "хоче зустрітися",
#: "предложил провести переговоры" (whole words: not "хоч"/"хоча", although, nor
#: "готовит", prepares).
WISH = re.compile(
    r"^(?:готов(?:а|о|ы|ий|і|ые|ность|ности|ністю|ність|ності)?|хоч(?:е|у|уть|ет|ешь)|хоте\w*|"
    r"хоті\w*|намер\w*|намір\w*|предлаг\w*|предлож\w*|запропон\w*|пропону\w*|бажа\w*|"
    r"жела\w*|прагн\w*)$"
)
WITH = frozenset({"с", "со", "з", "із", "зі"})
IN = frozenset({"в", "во", "на", "у", "до"})
LABELS = {"PER": "PERSON", "ORG": "ORG", "LOC": "GPE"}
#: An adjective of a demonym in any case ("российской", "російським", "американських"),
#: read off a demonym's ending: the Russian tagger's part of speech is unreliable on
#: Ukrainian words.
_ADJECTIVE = re.compile(
    r"^[а-яёіїєґʼ']+(?:ск|цк|ськ|цьк|зьк)(?:ий|ій|ый|ой|ая|ое|ые|ие|ых|их|ым|им|ого|ому|ою|ей|ую|"
    r"ыми|ими|а|е|і|у|ої|ім)$"
)
#: Instrumental endings: "с американцами", "зі Сполученими Штатами", "з Росією" (not "з
#: Києва", from Kyiv).
_INSTRUMENTAL = re.compile(r"(?:ами|ями|ими|ыми|ом|ем|єм|ою|ею|єю|им|ым|ой|ей)$")
#: A people in the plural nominative: "росіяни", "россияне", "американці", "американцы".
_PEOPLE = re.compile(r"(?:ян[еи]|ц[іы])$")
_CAPITALISED = re.compile(r"^[А-ЯЁІЇЄҐ][а-яёіїєґ'’ʼ-]+$")


@dataclass(frozen=True)
class _Tok:
    text: str
    start: int
    stop: int
    id: str
    head_id: str
    rel: str
    pos: str
    case: str = ""  # Natasha's morphology: Nom, Gen, Loc, Ins ...


class SlavicNlp:
    """Natasha's models, loaded once (about 0.3 s and 40 MB)."""

    def __init__(self) -> None:
        from natasha import (
            MorphVocab,
            NewsEmbedding,
            NewsMorphTagger,
            NewsNERTagger,
            NewsSyntaxParser,
            Segmenter,
        )

        logging.getLogger("pymorphy2").setLevel(logging.WARNING)  # its dictionary banner
        emb = NewsEmbedding()
        self.segmenter = Segmenter()
        self.morph = NewsMorphTagger(emb)
        self.syntax = NewsSyntaxParser(emb)
        self.ner = NewsNERTagger(emb)
        self.vocab = MorphVocab()
        self._uk: UkrainianForms | None = None

    @property
    def uk(self) -> UkrainianForms:
        """pymorphy3's Ukrainian dictionary, loaded on the first Ukrainian text."""
        if self._uk is None:
            self._uk = UkrainianForms()
        return self._uk

    def candidates(self, text: str, title_len: int, gaz: Gazetteer, lang: str) -> list[Candidate]:
        from natasha import Doc

        doc = Doc(whole_words(sentence_breaks(text)))
        doc.segment(self.segmenter)
        doc.tag_morph(self.morph)
        doc.parse_syntax(self.syntax)
        doc.tag_ner(self.ner)
        toks = [_Tok(t.text, t.start, t.stop, t.id, t.head_id, t.rel, t.pos,
                     t.feats.get("Case", "") if t.feats else "") for t in doc.tokens]
        by_id = {t.id: t for t in toks}
        children: dict[str, list[_Tok]] = {}
        for t in toks:
            children.setdefault(t.head_id, []).append(t)
        ctx = _Context(by_id, children, self.uk if lang == "uk" else None)
        found: list[Candidate] = []
        taken: set[int] = set()
        people: dict[int, ActorEntry] = {}
        spans = [_own_given(toks, span, gaz) for span in _gazetteer_spans(toks, gaz)]
        names = _name_starts(doc.spans, spans, toks)
        for i, j, hits in spans:
            role = ctx.role(toks[i:j], demonym=all(h.kind == "demonym" for h in hits),
                            person=any(h.actor is not None and h.actor.type == "person"
                                       for h in hits))
            if role != "other" and _title_state(toks, i, j, hits, names, text):
                role = "other"
            found.append(_cand(toks[i:j], "", text, title_len, role, hits))
            taken.update(range(toks[i].start, toks[j - 1].stop))
            known = [h.actor for h in hits
                     if h.actor is not None and h.actor.type == "person" and h.kind == "alias"]
            if known:
                people.update({t.start: known[0] for t in toks[i:j]})
        for k, tok in enumerate(toks):
            parts = _compound_states(tok, gaz) if tok.start not in taken else []
            if parts:
                role = ctx.compound_role(tok, toks[k + 1] if k + 1 < len(toks) else None)
                found += [_cand([part], "", text, title_len, role, hits) for part, hits in parts]
                taken.update(range(tok.start, tok.stop))
        for span in doc.spans:
            span_toks = [by_id[t.id] for t in span.tokens if t.id in by_id]
            keep = span_toks
            if span.type == "PER":
                named = _past_known(span_toks, taken, gaz, people)
                if _namesake(named, people, gaz):
                    # "Евгения Кара-Мурза": not the known person of that surname; the span
                    # is an unknown person and the surname's match goes.
                    keep = named
                    drop = {t.start for t in keep}
                    found = [c for c in found if c.start not in drop]
                    taken.difference_update(range(keep[0].start, keep[-1].stop))
                else:
                    keep = _name_part(named, taken, gaz, people)
            if not keep or any(k in taken for k in range(keep[0].start, keep[-1].stop)):
                continue
            cand = self._unknown(span, span_toks, keep, ctx, text, title_len, lang, gaz)
            if cand is not None:
                found.append(cand)
        return sorted(found, key=lambda c: c.start)

    def _unknown(
        self,
        span: Any,
        span_toks: Sequence[_Tok],
        toks: Sequence[_Tok],
        ctx: _Context,
        text: str,
        title_len: int,
        lang: str,
        gaz: Gazetteer,
    ) -> Candidate | None:
        """``toks``: the part of the span's tokens (``span_toks``) that names it."""
        label = LABELS.get(span.type)
        if label is None or not toks or label == "ORG":
            return None
        words = [t.text for t in toks]
        if label == "PERSON" and not _person_like(words, gaz):
            return None
        span.normalize(self.vocab)
        normal_words = (span.normal or span.text).split()
        if len(normal_words) == len(span_toks):  # the normal form of the kept part
            first = span_toks.index(toks[0])
            normal_words = normal_words[first : first + len(toks)]
        else:
            normal_words = words
        if label == "PERSON" and lang == "uk":
            # Natasha's morphology is Russian: Миколи → "Миколя"; a Ukrainian given name
            # in any case is put back from the list of given names.
            written = _apostrophe(words[0])
            given = written if written in UK_NOMINATIVE else UK_GIVEN.get(norm_word(words[0]))
            if given is not None and given != written and normal_words[-1] == words[-1]:
                # The given name is in another case, so is the surname the span's normal
                # form left as written ("Миколи Лукашука" → Лукашук): its own lemma.
                normal_words[-1] = self._surname(span, toks[-1], words[-1])
            normal_words[0] = given or normal_words[0]
        normal = " ".join(normal_words)
        latin = to_latin(normal, lang)
        # A known person the gazetteer spells otherwise: the Latin name or its surname.
        hits = tuple(h for h in gaz.lookup(latin) if h.actor is not None)
        if not hits and label == "PERSON":
            similar = gaz.similar_person(latin)  # another spelling: Умеров → Umerov
            hits = (Hit("alias", actor=similar),) if similar is not None else tuple(
                h
                for h in gaz.lookup(latin.split()[-1])
                if h.kind == "alias" and h.actor is not None and h.actor.type == "person"
            )
        return _cand(
            toks,
            label if not hits else "",
            text,
            title_len,
            ctx.role(toks, person=label == "PERSON"),
            hits,
            tuple(latin.split()),
        )


    def _surname(self, span: Any, tok: _Tok, word: str) -> str:
        """The lemma of a surname in another case, when it only drops a masculine case
        ending of the word (Лукашука, Ковальова, Лукашуком; not Ковальов → "Коваль"); else
        the word."""
        natasha = next((t for t in span.tokens if t.id == tok.id), None)
        if natasha is None or "-" in word:
            return word
        natasha.lemmatize(self.vocab)
        lemma = str(natasha.lemma or "")
        low = word.lower()
        if lemma and low.startswith(lemma) and low[len(lemma):] in _MASCULINE_ENDINGS:
            return word[: len(lemma)]
        return word


_UNENDED_LINE = re.compile(r"(?<=[^\s.!?…:;])([ \t\r]*)\n(?=[ \t\r]*\n)")


def sentence_breaks(text: str) -> str:
    """``text`` with a full stop in place of the first line break of a blank line after a line
    that ends without one: the headline (the tagger joins it to the body with a blank line)
    and any such line are sentences of their own, as in the English pipeline; Natasha's
    segmenter reads "…пунктов в ДНР\\n\\nВС России освободили" as one sentence, and the parse
    of the lead goes wrong. Same length: every offset stays. (A single line break is left: a
    full stop in its place would join the two words.)"""
    return _UNENDED_LINE.sub(lambda m: m.group(1) + ".", text)


def whole_words(text: str) -> str:
    """``text`` with an apostrophe inside a Cyrillic word written as the Ukrainian letter
    apostrophe (U+02BC): Natasha's segmenter splits "прем’єр-міністр" and "Мар'їнка" at a
    typographic, ASCII or backtick apostrophe ("прем", "’", "єр-міністр"), and the parse and
    the name rules then read three words; U+02BC is a letter to it. Same length: every offset
    stays."""
    return APOSTROPHE_IN_WORD.sub("\u02bc", text)


def _compound_states(tok: _Tok, gaz: Gazetteer) -> list[tuple[_Tok, tuple[Hit, ...]]]:
    """"Российско-украинские переговоры", "американо-российских", "російсько-українські":
    a compound adjective of two or more states' demonyms names each state. Every part must
    be a demonym (the linking -о/-е stem, "американо" as "американск"); other compounds
    ("ракетно-артиллерийский") name nobody."""
    parts = tok.text.split("-")
    if len(parts) < 2:
        return []
    out: list[tuple[_Tok, tuple[Hit, ...]]] = []
    offset = tok.start
    for part in parts:
        key = _key(part)
        hits = tuple(
            h for k in dict.fromkeys((key, f"{key}ск")) for h in gaz.lookup_tokens((k,))
            if h.kind == "demonym"
        ) if part else ()
        if not hits:
            return []
        stop = offset + len(part)
        out.append((_Tok(part, offset, stop, tok.id, tok.head_id, tok.rel, tok.pos, tok.case),
                    hits[:1]))
        offset = stop + 1
    return out


def _name_part(
    toks: Sequence[_Tok], taken: set[int], gaz: Gazetteer,
    people: Mapping[int, ActorEntry] | None = None,
) -> list[_Tok]:
    """A person span without the known names the NER ran into it ("України Андрій
    Ковальов" → Андрій Ковальов): leading and trailing tokens that are gazetteer matches or
    a gazetteer name are cut. A span with a known person at either end (``people``: the
    offsets of the gazetteer's person matches by a strong alias) is that person ("Реджеп
    Тайіп Ердоган" where only "Ердоган" matched, "Буданов Кирило Олексійович"): nothing is
    left."""
    people = people or {}
    out = _past_known(toks, taken, gaz, people)
    if out and out[0].start in people:
        return []
    while out and (out[-1].start in taken or _known_word(out[-1].text, gaz)):
        if out[-1].start in people:
            return []
        out.pop()
    return out


def _past_known(
    toks: Sequence[_Tok], taken: set[int], gaz: Gazetteer, people: Mapping[int, ActorEntry]
) -> list[_Tok]:
    """``toks`` without the leading known names that are no person ("Туреччини Реджеп …")."""
    out = list(toks)
    while out and out[0].start not in people and (
        out[0].start in taken or _known_word(out[0].text, gaz)
    ):
        out.pop(0)
    return out


def _namesake(
    toks: Sequence[_Tok], people: Mapping[int, ActorEntry], gaz: Gazetteer
) -> bool:
    """A person span whose last word is a known person's surname and whose first word is a
    given name (one of the gazetteer's people's, or a common Ukrainian one) that none of
    that person's names starts with: "Евгения Кара-Мурза" is not Vladimir Kara-Murza."""
    if len(toks) < 2 or toks[-1].start not in people or toks[0].start in people:
        return False
    first = toks[0].text
    key = norm_word(first)
    if not _CAPITALISED.match(first) or (key not in UK_GIVEN and key not in gaz.given_name_keys):
        return False
    given = given_names_of(people[toks[-1].start])
    latin = _given_latin(first, key)
    return not any(_alike(norm_word(g), key) or _alike(given_key(g), latin) for g in given)


def _given_latin(word: str, key: str) -> str:
    """:func:`given_key` of a Cyrillic given name (``key``: its :func:`norm_word`) in Latin
    letters: a common Ukrainian name by its Ukrainian nominative, any other as Russian."""
    return given_key(fold(to_latin(UK_GIVEN.get(key, word), "uk" if key in UK_GIVEN else "ru")))


def _alike(a: str, b: str) -> bool:
    """Two spellings of one given name: one letter apart or one the other's start
    (Эмманюэль / Эммануэль, Стивен / Стив)."""
    return within_one(a, b) or (min(len(a), len(b)) >= 3 and (a.startswith(b) or b.startswith(a)))


#: Case endings a masculine surname takes off its nominative (genitive, dative, instrumental,
#: locative).
_MASCULINE_ENDINGS = frozenset("а я у ю ові еві єві ом ем єм".split())


def _apostrophe(word: str) -> str:
    return word.replace("\u2019", "'").replace("\u02bc", "'")


_GIVEN_NAMES = """Микола Олександр Андрій Сергій Володимир Петро Олексій Дмитро Юрій Іван Василь
    Віталій Михайло Олег Ігор Віктор Руслан Тарас Богдан Денис Роман Євген Максим Павло
    Анатолій Валерій Геннадій Леонід Кирило Артем Вадим Вячеслав В'ячеслав Ярослав Степан
    Григорій Борис Федір Костянтин Станіслав Ростислав Святослав Олесь Остап Назар Данило
    Ірина Олена Юлія Тетяна Наталія Ольга Марія Оксана Світлана Людмила Вікторія Анна
    Катерина Ганна Інна Лариса Галина Леся Христина Валентина Мирослава Дарина Софія
    Уляна Зоряна Надія Любов Лілія Алла"""
#: Common Ukrainian given names in the nominative, by their key (any case form meets it; where
#: two share a key, the man's name listed first: Віктора is Віктор's, not Вікторія's).
UK_GIVEN: dict[str, str] = {}
for _name in _GIVEN_NAMES.split():
    UK_GIVEN.setdefault(norm_word(_name), _name)
#: ... and the names themselves: a nominative is left as written (Віктор and Вікторія, Валентин
#: and Валентина share a key).
UK_NOMINATIVE = frozenset(UK_GIVEN.values()) | frozenset(
    """Віктор Валентин Мирослав Олекса Олеся Ярослава Богдана Станіслава Олександра
    Євгенія""".split()
)


def _known_word(word: str, gaz: Gazetteer) -> bool:
    """The word alone is a name the gazetteer knows (a state, a place, an organisation ...)."""
    return bool(gaz.lookup_tokens([_key(word)]))


def _person_like(words: Sequence[str], gaz: Gazetteer) -> bool:
    """Two or three capitalised Cyrillic words, none of them a known name of something."""
    return 2 <= len(words) <= 3 and all(
        _CAPITALISED.match(w) and not _known_word(w, gaz) for w in words
    )


def _gazetteer_spans(
    toks: Sequence[_Tok], gaz: Gazetteer
) -> list[tuple[int, int, tuple[Hit, ...]]]:
    keys = [_key(t.text) for t in toks]
    firsts = gaz.first_keys
    out: list[tuple[int, int, tuple[Hit, ...]]] = []
    i = 0
    while i < len(toks):
        elided = _elided(toks, keys, i, gaz)
        if elided:
            out.append((i, i + 1, elided))
            i += 1
            continue
        if keys[i] not in firsts:
            i += 1
            continue
        for size in range(min(gaz.max_len, len(toks) - i), 0, -1):
            hits = gaz.lookup_tokens(keys[i : i + size])
            if hits and _cased(toks[i : i + size], hits, tuple(keys[i : i + size]), gaz):
                out.append((i, i + size, tuple(hits)))
                i += size
                break
        else:
            i += 1
    return out


def _own_given(
    toks: Sequence[_Tok], span: tuple[int, int, tuple[Hit, ...]], gaz: Gazetteer
) -> tuple[int, int, tuple[Hit, ...]]:
    """A person's weak surname right after one of that person's given names, in any
    spelling (:func:`_same_given`: "Ибрагим Калын" for Ibrahim Kalin, Ибрахим Калын in the
    gazetteer): the two words name the person as a full alias would."""
    i, j, hits = span
    weak = [h.actor for h in hits
            if h.kind == "weak" and h.actor is not None and h.actor.type == "person"]
    if i == 0 or j - i != 1 or len(weak) != 1 or toks[i - 1].stop + 1 != toks[i].start:
        return span
    first = toks[i - 1].text
    if not _CAPITALISED.match(first) or _known_word(first, gaz):
        return span
    if _same_given(first, weak[0]):
        return i - 1, j, (Hit("alias", weak[0]),)
    return span


def _same_given(word: str, entry: ActorEntry) -> bool:
    """``word`` is one of the person's given names, in any case, in the Russian or Ukrainian
    form or in a spelling one letter off a name of six letters or more (Ибрагим, Ибрахим);
    stricter than :func:`_alike`: Юрій is not Юлія, Олег not Ольга."""
    key = norm_word(word)
    latin = _given_latin(word, key)
    for g in given_names_of(entry):
        other = given_key(g)
        if norm_word(g) == key or other == latin or (
            min(len(other), len(latin)) >= 6 and within_one(other, latin)
        ):
            return True
    return False


def _name_starts(
    ner_spans: Sequence[Any], spans: Sequence[tuple[int, int, tuple[Hit, ...]]],
    toks: Sequence[_Tok],
) -> frozenset[int]:
    """Where a person's name starts or goes on: the tokens of the NER's person spans and of
    the gazetteer's people."""
    out = {t.start for s in ner_spans if s.type == "PER" for t in s.tokens}
    for i, j, hits in spans:
        if any(h.actor is not None and h.actor.type == "person" for h in hits):
            out.update(t.start for t in toks[i:j])
    return frozenset(out)


def _title_state(
    toks: Sequence[_Tok], i: int, j: int, hits: Sequence[Hit], names: frozenset[int],
    text: str,
) -> bool:
    """A state named in a person's title, between the title and the name: "Президент України
    Володимир Зеленський заявив", "Глава МИД России Сергей Лавров" — the person acts, the
    state is how the title reads (the Russian parser makes "України" the subject in
    Ukrainian). Only a word of office is a title ("Атаки Росії Володимир Зеленський назвав
    терором" keeps its proxy)."""
    if i == 0 or j >= len(toks) or not all(
        h.actor is not None and h.actor.type == "state" and h.kind == "alias" for h in hits
    ):
        return False
    title, name = toks[i - 1], toks[j]
    sentence = title.id.partition("_")[0]
    return (
        norm_word(title.text).startswith(TITLES)
        and name.start in names and name.text[:1].isupper()
        and name.id.partition("_")[0] == sentence == toks[i].id.partition("_")[0]
        and not text[title.stop : toks[i].start].strip()
        and not text[toks[j - 1].stop : name.start].strip()
    )


#: "и" / "і" / "та": the conjunction of two names that share their last words.
_AND = frozenset({"и", "і", "та"})


def _elided(
    toks: Sequence[_Tok], keys: Sequence[str], i: int, gaz: Gazetteer
) -> tuple[Hit, ...]:
    """The first of two names that share their last words, written once after the second:
    "Донецкой и Луганской народных республик" names the Donetsk People's Republic too: the
    word at ``i`` with the words the name after the conjunction ends with is an actor's name
    ("Херсонской и Запорожской областей" names places, no actor)."""
    if i + 3 >= len(toks) or keys[i + 1] not in _AND or not toks[i].text[:1].isupper():
        return ()
    for size in range(min(gaz.max_len, len(toks) - i - 2), 1, -1):
        second = keys[i + 2 : i + 2 + size]
        hits = gaz.lookup_tokens([keys[i], *second[1:]])
        if hits and gaz.lookup_tokens(second) and all(h.actor is not None for h in hits):
            return tuple(hits)
    return ()


@functools.lru_cache(maxsize=100_000)
def _key(word: str) -> str:
    return norm_word(word)


def _cased(toks: Sequence[_Tok], hits: Sequence[Hit], key: tuple[str, ...], gaz: Gazetteer) -> bool:
    """Names are capitalised; demonyms (российская, українська) and aliases written in lower
    case (росія, рф) are not."""
    return (
        any(t.text[:1].isupper() for t in toks)
        or all(h.kind == "demonym" for h in hits)
        or key in gaz.lowercase_keys
    )


class UkrainianForms:
    """Ukrainian word forms from pymorphy3's Ukrainian dictionary: the Russian parser and
    tagger read Ukrainian sentences poorly ("що Україна вже погодила" gets no subject), so a
    Ukrainian text's subjects are also read off the forms."""

    def __init__(self) -> None:
        import pymorphy3

        logging.getLogger("pymorphy3").setLevel(logging.WARNING)  # its dictionary banner
        self._morph = pymorphy3.MorphAnalyzer(lang="uk")

    @functools.lru_cache(maxsize=50_000)  # noqa: B019 - one instance per process
    def tags(self, word: str) -> tuple[str, ...]:
        # The dictionary writes the apostrophe as ASCII ("прем'єр"; not "премʼєр").
        return tuple(str(p.tag) for p in self._morph.parse(_apostrophe(word))[:4])

    def nominative(self, word: str) -> bool:
        """The word's likeliest reading is a nominative ("Україна", "США"; not "України",
        which may also be read as a plural nominative)."""
        tags = self.tags(word)
        return bool(tags) and "nomn" in tags[0]

    def finite_verb(self, word: str) -> bool:
        tags = self.tags(word)
        return bool(tags) and tags[0].startswith("VERB") and any(
            k in tags[0] for k in ("past", "pres", "futr"))

    def particle(self, word: str) -> bool:
        """An adverb or particle between a subject and its verb ("вже", "нібито", "не")."""
        tags = self.tags(word)
        return word in _UK_BETWEEN or (bool(tags) and tags[0].split(",")[0] in ("ADVB", "PRCL"))


#: Words that open a clause before its subject, and that stand between a subject and its verb.
_UK_OPENERS = frozenset("що і й та але а проте однак як коли бо оскільки адже хоча тоді це".split())
_UK_BETWEEN = frozenset("вже не нібито також теж ще навіть вчора сьогодні офіційно".split())
_AND_WORDS = _AND | {"й"}
#: Prepositions (the parser's part of speech is unreliable in Ukrainian: it reads "секретар" as
#: a verb): a title does not run past one.
_UK_PREPOSITIONS = frozenset(
    "після до з із зі у в на від для про під над за через між без біля перед при по щодо".split()
)
#: What ends a quote or a clause before ", заявив X": a comma, dashes, closing quotes.
_DASHES = frozenset({"-", "–", "—"})
_QUOTE_ENDS = frozenset({"»", '"', "”", "“"})
_QUOTE_OPENS = frozenset({"«", '"', "“", "„"})
_SAID_MARKS = frozenset({","}) | _DASHES | _QUOTE_ENDS
#: "взяти участь" in its forms: візьмуть, взяли, беруть, бере.
_TAKE = _stems("візьм взя бер")


@dataclass
class _Context:
    by_id: dict[str, _Tok]
    children: dict[str, list[_Tok]]
    uk: UkrainianForms | None = None

    def role(self, toks: Sequence[_Tok], demonym: bool = False, person: bool = False) -> Role:
        """``demonym``: the mention is a demonym ("российские", "росіяни"), whose adjective and
        people's-name forms the surface rules read where the parse says nothing; ``person``:
        it names a person (whom a title before the name can introduce)."""
        ids = {t.id for t in toks}
        own = next((t for t in toks if t.head_id not in ids), toks[0])
        root, seen, listed = own, 0, True
        while root.rel in ("conj", "appos", "flat:name", "flat") and seen < 8:
            head = self.by_id.get(root.head_id)
            if head is None:
                break
            listed = listed and root.rel == "conj"
            root, seen = head, seen + 1
        head = self.by_id.get(root.head_id)
        hword = norm_word(head.text) if head is not None else ""
        cases = self._cases(root)
        # "в Турции и Катаре": the preposition of a list's first item is every item's; a name
        # in apposition takes its head's only when it is itself in the locative ("в сусідній
        # країні Польщі"), not as the subject the Russian parser made an apposition of the
        # verb ("в Парижі зібралися Україна, США").
        place_cases = cases if listed or own.case == "Loc" else self._cases(own)
        if root.rel == "nsubj":
            return "speaker" if hword.startswith(SPEECH) else "agent"
        meeting = self._after_with_of_meeting(toks[0], demonym)
        if meeting is not None:
            return "other" if self._wished(meeting) else "meet"
        if root.rel in ("nmod", "obl") and head is not None:
            if cases & WITH and hword.startswith(MEETING):
                return "other" if self._wished(head) else "meet"
            if place_cases & IN:
                return "speaker" if self._said_in(head, hword) else "locative"
            if hword.startswith(SPEECH) and head.rel != "nsubj":
                return "speaker"  # "по словам Пескова", "заявление Кремля"
            if hword.startswith(GOVERNMENT):
                return "proxy"
        if root.rel == "amod" and hword.startswith(GOVERNMENT):
            return "proxy"
        if root.rel == "amod" and head is not None and self._source_speaks(head):
            return "speaker"
        if demonym:
            return self._surface_role(toks[0])
        return self._subject_by_form(toks) or self._said_before(toks, person) or "other"

    def _said_before(self, toks: Sequence[_Tok], person: bool = False) -> Role | None:
        """In Ukrainian, a name right after the speech verb that follows a quote or a clause
        (", заявив Зеленський", "– сказав Ківерь", "», повідомляє Генштаб"), or after it and
        its title ("Про це повідомив речник Кремля Дмитро Пєсков"), is the speaker, which the
        Russian parser misses in about half of such cases."""
        if self.uk is None:
            return None
        before = self._next(toks[0], -1)
        verb = self._past_title(before, speech=True)
        after = self._next(toks[-1], 1)
        if verb is not before and (not self.uk.nominative(toks[-1].text) or (
                not person and after is not None and after.text[:1].isupper())):
            return None  # a body in the title of a person named after it: "повідомив керівник
            # Офісу президента Андрій Єрмак" (the person speaks)
        mark = self._next(verb, -1) if verb is not None else None
        if verb is not None and verb.text == ":" and mark is not None and norm_word(
                mark.text).startswith(SOURCE):
            return "speaker"  # "Джерело: голова Донецької ОВА Вадим Філашкін"
        if verb is not None and verb.text.lower() == "участь" and self._takes_part(mark):
            return "agent"  # "У зустрічі візьмуть участь ... Дмитро Козак"
        if (verb is not None and verb is before and verb.text in _DASHES
                and mark is not None and mark.text in _QUOTE_ENDS
                and self._quote_opens(mark) and not self._verb_after(toks[-1])):
            return "speaker"  # "«Сподіваємося», що росіяни «скажуть «так» миру» – Рубіо"
        return "speaker" if (
            verb is not None and mark is not None
            and (mark.text in _SAID_MARKS or mark.text.lower() == "це")
            and norm_word(verb.text).startswith(SPEECH) and self.uk.finite_verb(verb.text.lower())
        ) else None

    def _takes_part(self, verb: _Tok | None) -> bool:
        """"візьмуть участь", "взяли участь", "беруть участь" — not after "не"."""
        if verb is None or not norm_word(verb.text).startswith(_TAKE):
            return False
        before = self._next(verb, -1)
        return before is None or before.text.lower() != "не"

    def _quote_opens(self, end: _Tok) -> bool:
        """The quote that ``end`` closes opens its sentence (a headline's or a lead's quote, not
        a name in quotes: "Лідер партії «Батьківщина» – Тимошенко")."""
        sentence = end.id.partition("_")[0]
        first = next((t for t in self.by_id.values() if t.id.partition("_")[0] == sentence),
                     None)
        return first is not None and first.text in _QUOTE_OPENS

    def _verb_after(self, tok: _Tok, within: int = 2) -> bool:
        """A finite verb within the next ``within`` words."""
        uk = self.uk
        for k in range(1, within + 1):
            nxt = self._next(tok, k)
            if nxt is not None and uk is not None and uk.finite_verb(nxt.text.lower()):
                return True
        return False

    def _subject_by_form(self, toks: Sequence[_Tok]) -> Role | None:
        """In Ukrainian, a name in the nominative that opens a clause (after a comma too:
        "Після зустрічі з радниками, Володимир Зеленський висловив"), before its finite verb
        (past an adverb or particle, or a name joined to it by "та"/"і", never past a comma)
        or "готовий": "що Україна вже нібито погодила", "Індія та Пакистан досягли угоди" —
        the subject the Russian parser did not find."""
        uk = self.uk
        if uk is None or not uk.nominative(toks[-1].text):
            return None
        prev = self._past_title(self._next(toks[0], -1))
        if prev is not None and prev.text.lower() not in _UK_OPENERS and (
            prev.pos != "PUNCT" or prev.text in "-–—:"
        ):
            return None
        if prev is not None and prev.text.lower() in _AND_WORDS:
            # the second of two names joined: only if the first is a nominative too ("Індія
            # та Пакистан"; not "між Британією і ЄС")
            first = self._next(prev, -1)
            if first is None or not first.text[:1].isupper() or not uk.nominative(first.text):
                return None
        tok: _Tok | None = toks[-1]
        joined = False
        for _ in range(6):
            tok = self._next(tok, 1) if tok is not None else None
            if tok is None:
                return None
            word = tok.text.lower()
            if uk.finite_verb(word) or word.startswith("готов"):
                return "speaker" if norm_word(word).startswith(SPEECH) else "agent"
            if word in _AND_WORDS and self._verb_after(tok, 1):
                return None  # verbs joined, not names: "відвідав Київ і заявив"
            if word in _AND_WORDS or (joined and (
                    tok.text[:1].isupper() or norm_word(word).startswith(TITLES))):
                joined = True  # a name joined to it: "Індія та Пакистан досягли", "Алієв та
                # прем'єр-міністр Вірменії Нікол Пашинян поставили"
            elif uk.particle(word):
                joined = False
            else:
                return None  # a comma, an object, a preposition: not this name's verb
        return None

    def _past_title(self, prev: _Tok | None, speech: bool = False) -> _Tok | None:
        """The word before the title in the nominative that a name follows, within five words
        ("Прессекретарка Білого дому Каролін Лівітт заявила": the clause opens with the
        title; with ``speech``, seven: "Про це повідомив речник Кремля Дмитро Пєсков"), or
        before the first of two titles joined by "та"/"і" ("голова делегації та секретар
        РНБО Рустем Умєров"), else ``prev``. A title's words are nouns, adjectives and names:
        the walk stops at a verb or a preposition ("відвідав Київ" is no title's)."""
        uk, tok, found = self.uk, prev, None
        for _ in range(7 if speech else 5):
            if tok is None or uk is None or (tok.pos == "PUNCT" and not tok.text[-1:].isalpha()):
                return found or prev
            low = tok.text.lower()
            if low in _UK_PREPOSITIONS or uk.finite_verb(low):
                return found or prev  # a title's words are nouns, adjectives, names and "та"
            last = tok.text.split("-")[-1]  # "прем'єр-міністр", "віцепрезидент-…": its last part
            if norm_word(last).startswith(TITLES) and uk.nominative(last):
                before = self._next(tok, -1)
                if before is None or before.text.lower() not in _AND_WORDS:
                    return before
                found = before  # two titles joined: "голова делегації та секретар РНБО"
            tok = self._next(tok, -1)
        return found or prev

    def _said_in(self, verb: _Tok, word: str) -> bool:
        """"В Кремле заявили", "сообщили в Минобороны", "У Міноборони повідомили": a speech
        verb with no subject, its speaker named as the place it speaks from."""
        return (verb.pos == "VERB" and word.startswith(SPEECH) and not any(
            c.rel.startswith("nsubj") for c in self.children.get(verb.id, ())
        ))

    def _source_speaks(self, noun: _Tok) -> bool:
        """"Официальный египетский источник заявил": a source that is the subject of a
        speech verb."""
        verb = self.by_id.get(noun.head_id)
        return (noun.rel == "nsubj" and verb is not None
                and norm_word(noun.text).startswith(SOURCE)
                and norm_word(verb.text).startswith(SPEECH))

    def _next(self, tok: _Tok, k: int) -> _Tok | None:
        sent, _, pos = tok.id.partition("_")
        return self.by_id.get(f"{sent}_{int(pos) + k}") if pos.isdigit() else None

    def _government_after(self, tok: _Tok) -> bool:
        """A word of forces or government right after ``tok`` or after one more adjective
        ("російські ударні дрони"); a capitalised word is a name, not one ("российским
        диктатором Владимиром" has none)."""
        words = [self._next(tok, 1), self._next(tok, 2)]
        if words[0] is not None and not _ADJECTIVE.search(words[0].text.lower()):
            words = words[:1]
        return any(
            t is not None and t.text[:1].islower() and norm_word(t.text).startswith(GOVERNMENT)
            for t in words
        )

    def _surface_role(self, tok: _Tok) -> Role:
        """Where the parse says nothing, read a demonym's words: its adjective before a word
        of forces or government ("Російські агресори", "російські ударні дрони") is the state
        acting through them; its people's name opening a sentence ("Росіяни зосередили") is
        the subject. The Russian parser often misses both in Ukrainian."""
        word = tok.text.lower()
        if _ADJECTIVE.search(word):
            return "proxy" if self._government_after(tok) else "other"
        if tok.id.endswith("_1") and _PEOPLE.search(word):
            return "agent"
        return "other"

    def _cases(self, tok: _Tok) -> set[str]:
        return {c.text.lower() for c in self.children.get(tok.id, ()) if c.rel == "case"}

    def _wished(self, meeting: _Tok) -> bool:
        """A meeting that is only wished for, offered or intended ("заявил о готовности
        встретиться с Путиным", "хоче зустрітися з"): its other side does nothing in the
        story."""
        before = [t for k in (1, 2) if (t := self._next(meeting, -k)) is not None]
        return any(WISH.match(t.text.lower()) for t in before)

    def _after_with_of_meeting(self, tok: _Tok, demonym: bool) -> _Tok | None:
        """"переговоры мы ведем с американцами", "Переговори України зі Сполученими Штатами":
        a name in the instrumental right after "с"/"з" that follows a word of meeting in the
        same sentence (within four words) is a side of the meeting, however the parser
        attached it (it often misses the Ukrainian noun's head). A demonym's adjective is a
        side only through a word of government ("с российской делегацией"; not "з російським
        диктатором"). Returns the word of meeting, or None."""
        if tok.case != "Ins" and not _INSTRUMENTAL.search(tok.text.lower()):
            return None
        if demonym and _ADJECTIVE.search(tok.text.lower()) and not self._government_after(tok):
            return None
        words = [t for k in range(1, 6) if (t := self._next(tok, -k)) is not None]
        if not words or words[0].text.lower() not in WITH:
            return None
        return next((w for w in words[1:] if norm_word(w.text).startswith(MEETING)), None)

    def compound_role(self, tok: _Tok, following: _Tok | None) -> Role:
        """The states of "российско-украинские переговоры" are the sides of the talks: the
        adjective's head, or the word after it (the Russian parser often misses the head in
        Ukrainian: "Російсько-українські переговори")."""
        heads = (self.by_id.get(tok.head_id), following)
        if any(h is not None and norm_word(h.text).startswith(MEETING) for h in heads):
            return "meet"
        return self.role([tok])


def _cand(
    toks: Sequence[_Tok],
    label: str,
    text: str,
    title_len: int,
    role: Role,
    hits: tuple[Hit, ...],
    tokens: tuple[str, ...] | None = None,
) -> Candidate:
    start = toks[0].start
    return Candidate(
        tokens=tokens if tokens is not None else tuple(t.text for t in toks),
        label=label,
        start=start,
        in_title=start < title_len,
        headline=False,
        role=role,
        preceding=text[max(0, start - 40) : start],
        hits=hits,
    )
