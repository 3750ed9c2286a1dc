"""The stream matcher: Lucene query strings evaluated as Elasticsearch query_string would."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newsmon.query import (
    DEFAULT_FIELDS,
    FIELDS,
    PreparedDoc,
    QueryError,
    analyze,
    compile_query,
    fields_from_mapping,
    prepare,
)

NOW = datetime(2025, 5, 20, 12, 0, tzinfo=UTC)

CORPUS: dict[str, dict[str, Any]] = {
    "istanbul": {
        "title": "Putin proposes direct ceasefire talks in Istanbul",
        "text": "Negotiations could resume on Thursday, the Kremlin said. "
        "Peace talks stalled in 2022.",
        "actor": ["Vladimir Putin", "Recep Tayyip Erdogan"],
        "topic": ["peace_talks"],
        "source": "Reuters",
        "lang": "en",
        "url": "https://example.com/World/istanbul",
        "published": datetime(2025, 5, 11, 8, 30, tzinfo=UTC),
    },
    "gaza": {
        "title": "Gaza ceasefire negotiators meet in Cairo",
        "text": "Mediators negotiated late into the night on a cease-fire.",
        "actor": ["Benjamin Netanyahu"],
        "topic": ["peace_talks"],
        "source": "AP",
        "lang": "en",
        "published": "2025-05-31T23:59:59.999+00:00",
    },
    "kyiv": {
        "title": "Drone strikes hit Kyiv overnight",
        "text": "Volodymyr Zelensky said air defences shot down most drones. "
        "Putin's envoy was silent.",
        "actor": ["Volodymyr Zelensky"],
        "topic": [],
        "source": "BBC",
        "lang": "en",
        "published": "2025-06-01T00:00:00Z",
    },
    "french": {
        "title": "Cessez-le-feu : Poutine et Zelensky à Istanbul ?",
        "text": "Les négociations de paix reprennent. Le cessez-le-feu reste fragile.",
        "actor": ["Vladimir Putin", "Volodymyr Zelensky"],
        "topic": ["peace_talks"],
        "source": "Le Monde",
        "lang": "fr",
        "published": datetime(2025, 4, 30, 23, 0, tzinfo=UTC),
    },
    "empty": {"title": "", "source": "Reuters", "actor": []},
}


def ids(query: str, corpus: dict[str, dict[str, Any]] = CORPUS, **kwargs: Any) -> set[str]:
    matcher = compile_query(query, now=NOW, **kwargs)
    return {doc_id for doc_id, doc in corpus.items() if matcher.matches(doc)}


# --- analysis -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Peace TALKS", ["peace", "talks"]),
        ("cease-fire", ["cease", "fire"]),
        ("the U.S. and U.K.", ["the", "u.s", "and", "u.k"]),
        ("Putin's envoy, don't", ["putin's", "envoy", "don't"]),
        ("1,000.50 and 3.14", ["1,000.50", "and", "3.14"]),
        ("peace_talks v1.2", ["peace_talks", "v1.2"]),
        ("Zelensky: ok. 10:30", ["zelensky", "ok", "10", "30"]),
        ("négociations À café", ["négociations", "à", "café"]),
        ("ΟΔΥΣΣΕΥΣ İstanbul", ["οδυσσευσ", "istanbul"]),
        ("東京タワー", ["東", "京", "タワー"]),
        ("e-mail: a@b.com", ["e", "mail", "a", "b.com"]),
        ("🇺🇦 👍🏽!", ["🇺🇦", "👍🏽"]),
        ("  --  ", []),
    ],
)
def test_analyze_like_the_standard_analyzer(text: str, tokens: list[str]) -> None:
    assert analyze(text) == tokens


def test_analyze_splits_very_long_tokens() -> None:
    assert [len(t) for t in analyze("x" * 600)] == [255, 255, 90]


# --- the seed queries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('ceasefire AND actor:"Vladimir Putin"', {"istanbul"}),
        ("Istanbul", {"istanbul", "french"}),
        ("negotiat*", {"istanbul", "gaza"}),
        ("topic:peace_talks", {"istanbul", "gaza", "french"}),
        ('"peace talks"', {"istanbul"}),
        ("-Gaza", {"istanbul", "kyiv", "french", "empty"}),
        ("published:[2025-05-01 TO 2025-05-31]", {"istanbul", "gaza"}),
    ],
)
def test_seed_rules(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


# --- text terms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("CEASEFIRE", {"istanbul", "gaza"}),
        ("title:ceasefire", {"istanbul", "gaza"}),
        ("text:ceasefire", set()),
        ("Putin", {"istanbul"}),  # kyiv has only "Putin's": one token, as in Elasticsearch
        ("putin's", {"kyiv"}),
        ("cease-fire", {"gaza"}),  # = cease OR fire
        ("fire", {"gaza"}),
        ('"cease fire"', {"gaza"}),
        ("négociations", {"french"}),
        ("negociations", set()),  # the standard analyzer keeps accents
        ("cessez-le-feu", {"french"}),
        ("title:(cairo OR kyiv)", {"gaza", "kyiv"}),
        ("title:(cairo kyiv) AND ap", set()),  # "ap" searches title/text, not source
        ("2022", {"istanbul"}),
    ],
)
def test_text_terms(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


def test_multi_token_term_is_an_or_of_its_tokens() -> None:
    doc = {"title": "The fire is out"}
    assert compile_query("cease-fire").matches(doc)
    assert not compile_query('"cease-fire"').matches(doc)
    assert compile_query("U.S.").matches({"text": "the U.S. envoy"})
    assert not compile_query("U.S.").matches({"text": "the US envoy"})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"peace talks stalled"', {"istanbul"}),
        ('"talks peace"', set()),
        ('"talks peace"~1', set()),
        ('"talks peace"~2', {"istanbul"}),  # reversed order costs 2 moves
        ('"ceasefire Istanbul"', set()),
        ('"ceasefire Istanbul"~2', {"istanbul"}),
        ('"ceasefire Istanbul"~1', set()),
        ('"direct talks"~1', {"istanbul"}),
        ('"Kremlin said peace"', {"istanbul"}),  # punctuation does not break phrases
        ('"Putin"', {"istanbul"}),
        ('"..."', set()),
        ('title:"ceasefire talks"', {"istanbul"}),
        ('text:"ceasefire talks"', set()),
    ],
)
def test_phrases(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


def test_phrase_with_repeated_term() -> None:
    doc = {"text": "talks about talks"}
    assert compile_query('"talks talks"~1').matches(doc)
    assert not compile_query('"talks talks"').matches(doc)
    assert not compile_query('"talks talks"~1').matches({"text": "talks"})


def test_phrase_does_not_span_list_values() -> None:
    doc = {"text": ["peace", "talks"]}
    assert compile_query("peace AND talks").matches(doc)
    assert not compile_query('"peace talks"').matches(doc)


# --- keyword fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('actor:"Vladimir Putin"', {"istanbul", "french"}),
        ('actor:"VLADIMIR PUTIN"', {"istanbul", "french"}),
        ("actor:Putin", set()),  # a keyword is the whole value
        ("actor:Vladimir Putin", {"istanbul"}),  # = actor:vladimir OR putin (title/text)
        # bare words in a row are analyzed together (split_on_whitespace=false) ...
        ("actor:(Vladimir Putin)", {"istanbul", "french"}),
        ("actor:(vladimir putin) AND lang:fr", {"french"}),
        ("source:(le monde)", {"french"}),
        # ... but a word before AND / OR stays apart: actor:vladimir, actor:putin OR ...
        ("actor:(Vladimir Putin OR Netanyahu)", set()),
        ("actor:(Vladimir Putin) OR actor:(Benjamin Netanyahu)", {"istanbul", "gaza", "french"}),
        ("source:reuters", {"istanbul", "empty"}),
        ('source:"le monde"', {"french"}),
        ("source:le", set()),
        ("lang:FR", {"french"}),
        ("topic:peace", set()),
        ('topic:"peace talks"', set()),
        ("actor:vlad*", {"istanbul", "french"}),
        ("actor:*zelensky", {"kyiv", "french"}),
        ("actor:v*r?putin", {"istanbul", "french"}),
        ("actor:v*r??putin", set()),
        ("actor:v*r?p*", {"istanbul", "french"}),
        ("source:/re.*/", {"istanbul", "empty"}),
        ("source:reuter~", {"istanbul", "empty"}),
        ("source:[a TO b]", {"gaza"}),
        ("source:{ap TO bbc]", {"kyiv"}),
        ('url:"https://example.com/World/istanbul"', {"istanbul"}),
        ('url:"https://example.com/world/istanbul"', set()),  # url is mapped without normalizer
        ("url:https*", {"istanbul"}),
    ],
)
def test_keyword_fields(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


def test_object_and_multi_fields() -> None:
    doc = {
        "title": "Talks in Istanbul",
        "actors": [
            {"name": "Vladimir Putin", "salience": 0.9, "mentions": 3, "in_title": False},
            {"name": "Donald Trump", "salience": 0.2, "mentions": 1, "in_title": True},
        ],
    }
    assert compile_query('actors.name:"vladimir putin"').matches(doc)
    assert compile_query("actors.salience:>=0.9").matches(doc)
    assert not compile_query("actors.salience:>0.9").matches(doc)
    assert compile_query("actors.mentions:[2 TO 3]").matches(doc)
    assert compile_query("actors.mentions:3").matches(doc)
    assert compile_query("actors.in_title:true AND actors.in_title:false").matches(doc)
    assert compile_query('title.raw:"Talks in Istanbul"').matches(doc)
    assert not compile_query('title.raw:"talks in istanbul"').matches(doc)
    assert compile_query("_exists_:actors").matches(doc)
    assert not compile_query("_exists_:places").matches(doc)


# --- boolean structure (Lucene classic parser, default operator OR) ---------------------------

WORDS = ("alpha", "bravo", "charlie")
SUBSETS = {
    "".join(w[0] for w in combo) or "none": {"title": " ".join(combo)}
    for n in range(4)
    for combo in itertools.combinations(WORDS, n)
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("alpha bravo", {"a", "b", "ab", "ac", "bc", "abc"}),
        ("alpha OR bravo", {"a", "b", "ab", "ac", "bc", "abc"}),
        ("alpha AND bravo", {"ab", "abc"}),
        ("alpha && bravo", {"ab", "abc"}),
        ("alpha || bravo", {"a", "b", "ab", "ac", "bc", "abc"}),
        # AND binds its two neighbours; then the optional clause stops mattering
        ("alpha OR bravo AND charlie", {"bc", "abc"}),
        ("alpha AND bravo OR charlie", {"ab", "abc"}),
        ("alpha bravo AND charlie", {"bc", "abc"}),
        ("alpha AND bravo charlie", {"ab", "abc"}),
        ("(alpha OR bravo) AND charlie", {"ac", "bc", "abc"}),
        ("alpha OR (bravo AND charlie)", {"a", "ab", "ac", "bc", "abc"}),
        ("alpha bravo -charlie", {"a", "b", "ab"}),
        ("alpha bravo NOT charlie", {"a", "b", "ab"}),
        ("alpha bravo !charlie", {"a", "b", "ab"}),
        ("+alpha bravo", {"a", "ab", "ac", "abc"}),
        ("+alpha -bravo", {"a", "ac"}),
        ("alpha AND NOT bravo", {"a", "ac"}),
        ("alpha OR NOT bravo", {"a", "ac"}),  # = alpha -bravo
        ("NOT alpha", {"none", "b", "c", "bc"}),
        ("-alpha -bravo", {"none", "c"}),
        ("!alpha", {"none", "b", "c", "bc"}),
        ("NOT alpha AND bravo", {"b", "bc"}),
        ("NOT alpha OR bravo", {"b", "bc"}),
        ("alpha OR (NOT bravo)", {"none", "a", "c", "ab", "ac", "abc"}),
        ("charlie AND (-alpha -bravo)", {"c"}),
        ("(alpha)", {"a", "ab", "ac", "abc"}),
        ("((alpha AND bravo) OR charlie) -alpha", {"c", "bc"}),
        ("alpha - bravo", {"a", "b", "ab", "ac", "bc", "abc"}),  # bare '-' is a term
        ("alpha!bravo", {"a", "ac"}),  # '!' can not be inside a term
        ("alpha AND - bravo", {"a", "ab", "ac", "abc"}),  # the dropped clause made alpha required
        ("alpha AND ...", {"a", "ab", "ac", "abc"}),
        ("alpha^2 OR bravo^0.5", {"a", "b", "ab", "ac", "bc", "abc"}),
        ("ANDY OR alpha", {"a", "ab", "ac", "abc"}),
        ("alpha and bravo", {"a", "b", "ab", "ac", "bc", "abc"}),  # lower-case 'and' is a term
    ],
)
def test_boolean_structure_follows_lucene(query: str, expected: set[str]) -> None:
    assert ids(query, SUBSETS) == expected


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("AND alpha", 0),
        ("alpha AND", 9),
        ("alpha OR OR bravo", 9),
        ("(alpha", 6),
        ("alpha)", 5),
        ('"unclosed', 0),
        ("title:", 6),
        ("alpha^", 6),
        ("alpha^x", 6),
        ("NOT NOT alpha", 4),
        ("title:-alpha", 6),
        ("a/b", 1),
        ("alpha\\", 5),
        ("published:2025-05-01T10:00:00", 23),
        ("published:[2025 TO]", 18),
        ("[a TO b", 7),
    ],
)
def test_syntax_errors_carry_their_position(query: str, position: int) -> None:
    with pytest.raises(QueryError) as err:
        compile_query(query)
    assert err.value.position == position
    assert f"position {position}" in str(err.value)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("foo:bar", "unknown field 'foo'"),
        ("actors:putin", "unknown field 'actors'"),
        ("_exists_:foo", "unknown field 'foo'"),
        ("published:yesterday", "cannot parse date"),
        ("published:negot*", "prefix queries do not work on date field"),
        ("actors.mentions:x", "is not a number"),
        ("actors.in_title:yes", "is not a boolean"),
        ("putin~3", "fuzziness must be 0, 1 or 2"),
        ("putin~0.5", "fuzziness must be 0, 1 or 2"),
        ("/a&b/", "intersection"),
        ("*:putin", "only supported in '*:*'"),
        ("", "empty query"),
        ("  ", "empty query"),
    ],
)
def test_rejected_queries(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        compile_query(query)


def test_unknown_field_error_points_at_the_field_and_lists_known_ones() -> None:
    with pytest.raises(QueryError) as err:
        compile_query("putin AND actr:x")
    assert err.value.position == 10
    assert "known fields: actor," in str(err.value)


def test_non_strict_unknown_field_matches_nothing_like_elasticsearch() -> None:
    assert ids("foo:bar", strict=False) == set()
    assert ids("istanbul OR foo:bar", strict=False) == {"istanbul", "french"}
    assert ids("-foo:bar", strict=False) == set(CORPUS)
    assert ids("   ", strict=False) == set()


# --- wildcards, regex, fuzzy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("negotiat*", {"istanbul", "gaza"}),
        ("NEGOTIAT*", {"istanbul", "gaza"}),
        ("negotiat?d", {"gaza"}),
        ("*tiations", {"istanbul"}),
        ("*ciations", {"french"}),
        ("n*tiations", {"istanbul"}),
        ("cease-fi*", {"gaza"}),  # analyzed: cease OR fi*
        ("ceasefire*", {"istanbul", "gaza"}),
        ("title:cease*", {"istanbul", "gaza"}),
        ("text:cease*", {"gaza"}),
        ("/negotia.*/", {"istanbul", "gaza"}),
        ("/Negotia.*/", set()),  # regexps are not lower-cased on text fields
        ("/[kc]yiv|cairo/", {"gaza", "kyiv"}),
        ("/n[^e]+/", {"gaza", "french"}),  # é is not e
        ("kyv~", {"kyiv"}),
        ("kiev~", set()),  # two substitutions
        ("kiev~2", {"kyiv"}),
        ("kyv~0", set()),
        ("ceasfire~", {"istanbul", "gaza"}),
        ("cesaefire~1", {"istanbul", "gaza"}),  # a transposition is one edit
        ("ap~", set()),  # AUTO: no edits below three characters
        ("istambul~2", {"istanbul", "french"}),
        ("escapes\\*", set()),
        ("title:*", set(CORPUS)),  # "" exists: Elasticsearch indexes an empty norm
        ("*", set(CORPUS)),  # = title or text exists
        ("title:?*", {"istanbul", "gaza", "kyiv", "french"}),  # some token
        ("*:*", set(CORPUS)),
        ("_exists_:text", {"istanbul", "gaza", "kyiv", "french"}),
        ("_exists_:source", set(CORPUS)),
        ("_exists_:actor", {"istanbul", "gaza", "kyiv", "french"}),
        ("actor:*", {"istanbul", "gaza", "kyiv", "french"}),
        ("NOT _exists_:published", {"empty"}),
        ("-topic:*", {"kyiv", "empty"}),
    ],
)
def test_multi_term_queries(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("published:[2025-05-01 TO 2025-05-31]", {"istanbul", "gaza"}),  # lte 05-31 = whole day
        ("published:[2025-05-01 TO 2025-05-31}", {"istanbul"}),
        ("published:{2025-04-30 TO 2025-06-01]", {"istanbul", "gaza", "kyiv"}),  # gt rounds up
        ("published:[2025-04-30 TO *]", {"istanbul", "gaza", "kyiv", "french"}),
        ("published:[* TO 2025-05-11T08:30]", {"istanbul", "french"}),
        ("published:{* TO 2025-05-11T08:30:00}", {"french"}),
        ("published:>2025-05-31", {"kyiv"}),
        ("published:>=2025-05-31", {"gaza", "kyiv"}),
        ("published:<2025-05-01", {"french"}),
        ("published:<=2025-04-30", {"french"}),
        ("published:2025-05-11", {"istanbul"}),  # a date term is that whole day
        ('published:"2025-06-01"', {"kyiv"}),
        ("published:2025-05", set()),  # rounding fills day 01: 2025-05-01 only, as in ES
        ("published:[2025-05 TO 2025-06]", {"istanbul", "gaza", "kyiv"}),
        ("published:[2025 TO 2025-12-31]", {"istanbul", "gaza", "kyiv", "french"}),
        ("published:>now-10d", {"istanbul", "gaza", "kyiv"}),
        ("published:>now-9d", {"gaza", "kyiv"}),
        ("published:[now-10d/d TO now]", {"istanbul"}),
        ("published:[now-8d/d TO now]", set()),
        ("published:[now-1M/M TO now/M}", {"french"}),
        ("published:[2025-05-01||-1d TO 2025-05-01||+10d/d]", {"istanbul", "french"}),
        ("published:[1746316800000 TO 1747008000000]", {"istanbul"}),
        ("published:[2025-05-11T10:30:00+02:00 TO 2025-05-11T10:30:00+02:00]", {"istanbul"}),
    ],
)
def test_date_ranges_round_like_elasticsearch(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


def test_now_is_injectable_per_call() -> None:
    matcher = compile_query("published:>now-1d")
    doc = {"published": "2025-05-11T08:30:00Z"}
    assert matcher.uses_now
    assert matcher.matches(doc, now=datetime(2025, 5, 12, tzinfo=UTC))
    assert not matcher.matches(doc, now=datetime(2025, 5, 13, tzinfo=UTC))
    fixed = compile_query("published:>now-1d", now=datetime(2025, 5, 12, tzinfo=UTC))
    assert fixed.matches(doc)
    assert not compile_query("published:>2025-01-01").uses_now


@pytest.mark.parametrize(
    "value",
    [
        datetime(2025, 5, 11, 8, 30, tzinfo=UTC),
        datetime(2025, 5, 11, 8, 30),  # noqa: DTZ001 - naive values are read as UTC, like ES
        "2025-05-11T08:30:00Z",
        "2025-05-11T10:30:00+02:00",
        "2025-05-11T08:30:00.000000+00:00",
        1746952200000,
    ],
)
def test_document_date_values(value: Any) -> None:
    assert compile_query("published:[2025-05-11T08:30 TO 2025-05-11T08:30]").matches(
        {"published": value}
    )


def test_unparseable_document_dates_are_missing() -> None:
    assert not compile_query("published:[* TO *]").matches({"published": "soon"})


# --- explain, required terms, prepared documents ----------------------------------------------


def test_explain_lists_what_matched() -> None:
    doc = CORPUS["istanbul"]
    matcher = compile_query('(ceasefire OR truce) AND actor:"Vladimir Putin" AND negotiat*')
    assert matcher.explain(doc) == ["ceasefire", "actor:Vladimir Putin", "negotiations"]
    assert compile_query('"peace talks" -gaza').explain(doc) == ["peace talks"]
    assert compile_query("gaza").explain(doc) is None
    assert compile_query("-gaza").explain(doc) == []
    assert compile_query("published:[2025-05-01 TO *]").explain(doc) == [
        "published:2025-05-11T08:30:00.000Z"
    ]


def test_required_terms_cover_every_match() -> None:
    def cover(query: str) -> set[tuple[str, str]] | None:
        terms = compile_query(query).required_terms()
        return None if terms is None else set(terms)

    assert cover('ceasefire AND actor:"Vladimir Putin"') == {("actor", "vladimir putin")}
    assert cover("Istanbul OR Kyiv") == {
        ("title", "istanbul"),
        ("text", "istanbul"),
        ("title", "kyiv"),
        ("text", "kyiv"),
    }
    assert cover('"peace talks" OR kyiv') == {
        ("title", "peace"),
        ("text", "peace"),
        ("title", "kyiv"),
        ("text", "kyiv"),
    }
    assert cover("-gaza") is None
    assert cover("negotiat* OR peace") is None
    assert cover("negotiat* AND topic:peace_talks") == {("topic", "peace_talks")}
    # the cover really covers: no corpus document outside it matches
    for query in ("Istanbul OR Kyiv", 'ceasefire AND actor:"Vladimir Putin"', '"peace talks"'):
        terms = cover(query)
        assert terms is not None
        for doc in CORPUS.values():
            prepared = prepare(doc)
            has_term = any(
                (t := prepared.text(f)) is not None
                and term in t.positions
                or any(v == term for v, _ in prepared.keywords(f, normalized=True))
                for f, term in terms
            )
            assert has_term or not compile_query(query).matches(prepared)


def test_prepared_documents_are_shared_between_rules() -> None:
    prepared = prepare(CORPUS["istanbul"])
    assert isinstance(prepared, PreparedDoc) and prepare(prepared) is prepared
    rules = [compile_query(q) for q in ("putin", "istanbul", "actor:*putin", "gaza")]
    assert [r.matches(prepared) for r in rules] == [True, True, True, False]
    assert [r.matches(CORPUS["istanbul"]) for r in rules] == [True, True, True, False]


def test_missing_and_odd_values_do_not_match() -> None:
    matcher = compile_query("putin OR actor:putin OR published:[* TO *]")
    assert not matcher.matches({})
    assert not matcher.matches({"title": None, "actor": [None], "published": None})
    assert compile_query("actors.in_title:true").matches({"actors": [{"in_title": True}]})
    assert compile_query("tags:true").matches({"tags": [True]})


def test_fields_match_the_shipped_index_mapping() -> None:
    path = Path(__file__).parents[2] / "index" / "templates" / "news-articles-mappings.json"
    mapping = json.loads(path.read_text("utf-8"))["template"]["mappings"]["properties"]
    assert fields_from_mapping(mapping) == FIELDS
    assert all(FIELDS[f] == "text" for f in DEFAULT_FIELDS)


def test_custom_fields_and_default_fields() -> None:
    fields = {"headline": "text", "desk": "keyword"}
    matcher = compile_query("peace desk:World", fields=fields, default_fields=("headline",))
    assert matcher.matches({"headline": "Peace now", "desk": "Sport"})
    assert matcher.matches({"desk": "world"})
    assert not matcher.matches({"title": "peace"})
    with pytest.raises(QueryError, match="unknown field 'title'"):
        compile_query("title:x", fields=fields, default_fields=("headline",))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("&&b OR alpha", {"a", "ab", "ac", "abc"}),  # '&&b' is a word (analyzes to b)... OR alpha
        ("ANDalpha", set()),
        ("alpha||", {"a", "ab", "ac", "abc"}),
        ("title:>bravo", {"c", "ac", "bc", "abc"}),
        ("title:[alpha TO bravo}", {"a", "ab", "ac", "abc"}),
        ("title:{alpha TO charlie}", {"b", "ab", "bc", "abc"}),
        ('alpha "" OR bravo', {"a", "b", "ab", "ac", "bc", "abc"}),
    ],
)
def test_lexer_corner_cases(query: str, expected: set[str]) -> None:
    assert ids(query, SUBSETS) == expected


def test_explain_follows_query_order_and_skips_negations() -> None:
    doc = {"title": "alpha bravo charlie"}
    assert compile_query("alpha bravo AND charlie -delta").explain(doc) == [
        "alpha",
        "bravo",
        "charlie",
    ]
    assert compile_query("title:alpha OR text:alpha").explain(doc) == ["title:alpha"]


def test_exact_fuzzy_is_a_term() -> None:
    assert compile_query("istanbul~0").required_terms() == frozenset(
        {("title", "istanbul"), ("text", "istanbul")}
    )
