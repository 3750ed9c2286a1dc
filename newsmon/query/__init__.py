"""One query language everywhere: Lucene query strings, matched in process as Elasticsearch would.

Users write Elasticsearch ``query_string`` syntax (Kibana's Lucene bar). The same string selects
the same articles in Elasticsearch and here, in alert rules and in the in-memory store::

    m = compile_query('ceasefire AND actor:"Vladimir Putin"')
    m.matches(doc)          # doc: flat mapping, or prepare(doc) to share analysis across rules
    m.explain(doc)          # ['ceasefire', 'actor:Vladimir Putin'] or None

Semantics (Elasticsearch ``query_string`` with ``default_operator: OR``, ``analyze_wildcard:
true``, ``index.query.default_field: [title, text]``; see :mod:`.syntax`, :mod:`.compiler`):

* Bare terms search ``title`` OR ``text``. Text fields use the standard analyzer
  (:func:`analyze`): UAX#29 words, lower-cased, accents kept. A word the analyzer splits is an
  OR of its tokens: ``cease-fire`` = ``cease OR fire`` (write ``"cease-fire"`` for the phrase);
  ``U.S.`` is the one token ``u.s``; ``Putin`` does not match ``Putin's`` (token ``putin's``).
* ``"..."`` is a phrase (consecutive positions); ``"..."~N`` a sloppy phrase.
* Keyword fields (``actor``, ``topic``, ``source``...) compare the whole value, lower-cased:
  ``actor:"vladimir putin"`` matches ``Vladimir Putin``, ``actor:Putin`` does not. ``url``,
  ``story_id``, ``article_id`` and other ``exact`` fields are case-sensitive, as mapped.
* Booleans follow Lucene's classic parser, not textbook precedence: clauses form one flat list;
  ``AND`` makes the clauses on both sides required, ``OR``/nothing leaves them optional, ``NOT``
  / ``-`` prohibit, ``+`` requires. With any required clause the optional ones stop mattering:
  ``a OR b AND c`` = ``+b +c``; ``a AND b OR c`` = ``+a +b``; ``a OR NOT b`` = ``a -b``.
  A list of only prohibited clauses matches everything else (``NOT gaza``, ``(-a -b)``).
* ``*``/``?`` wildcards and ``/regex/`` match single tokens (text) or whole values (keywords);
  ``field:*`` and ``_exists_:field`` test presence; ``*`` alone = title or text present;
  ``*:*`` matches everything. A trailing-``*`` prefix is analyzed (``cease-fi*`` = ``cease OR
  fi*``); other wildcards are only lower-cased.
* Ranges ``[a TO b]``, ``{a TO b}``, ``field:>x`` ``>=`` ``<`` ``<=`` on dates (with date math and
  Elasticsearch's rounding, see :mod:`.dates`), numbers and strings (term order).
* ``term~`` fuzzy: AUTO edits (0 for 1-2 characters, 1 for 3-5, 2 longer), ``~1``/``~2``
  explicit, transpositions count one edit. Boosts ``^N`` are accepted and ignored.

Known differences from Elasticsearch:

* Unknown fields raise :class:`QueryError` (``strict=False``: they match nothing, as in ES);
  an empty query raises too (ES: matches nothing). Field-name patterns (``act\\*:x``) and
  ``*:term`` are not supported.
* Fuzzy queries match every term within the edit distance; ES keeps only the best 50 terms of
  the whole index (``max_expansions``), which can drop matches on large indices.
* Regular expressions: intersection ``&``, complement ``~`` and intervals ``<n-m>`` raise.
* The tokenizer approximates Unicode 9 word-break classes from general categories (exotic
  scripts, emoji sequences may differ); ``ignore_above`` on keyword sub-fields is not applied.
"""

from newsmon.query.analysis import analyze
from newsmon.query.document import PreparedDoc, prepare
from newsmon.query.errors import QueryError
from newsmon.query.fields import DEFAULT_FIELDS, FIELDS, fields_from_mapping
from newsmon.query.matcher import Matcher, compile_query

__all__ = [
    "DEFAULT_FIELDS",
    "FIELDS",
    "Matcher",
    "PreparedDoc",
    "QueryError",
    "analyze",
    "compile_query",
    "fields_from_mapping",
    "prepare",
]
