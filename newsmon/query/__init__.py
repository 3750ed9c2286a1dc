"""One query language everywhere: Lucene query strings, matched in process as Elasticsearch would.

Users write Elasticsearch ``query_string`` syntax (Kibana's Lucene bar). The same string selects
the same articles in Elasticsearch and here, in alert rules and in the in-memory store::

    m = compile_query('ceasefire AND actor:"Vladimir Putin"')
    m.matches(doc)          # doc: flat mapping, or prepare(doc) to share analysis across rules
    m.explain(doc)          # ['ceasefire', 'actor:Vladimir Putin'], or None when no match

The reference is ``query_string`` with ``default_operator: OR``, ``analyze_wildcard: true`` and
the index setting ``index.query.default_field: [title, text]``. The parser is a transcription of
Lucene's classic ``QueryParser.jj`` (:mod:`.syntax`); the compiler follows Elasticsearch's
``QueryStringQueryParser`` (:mod:`.compiler`). In short:

* Bare words search ``title`` OR ``text``, analyzed like the ``standard`` analyzer
  (:func:`analyze`: UAX#29 words, lower-cased, accents kept). A word the analyzer splits is an
  OR of its tokens: ``cease-fire`` = ``cease OR fire`` (write ``"cease-fire"`` for the phrase);
  ``U.S.`` is the one token ``u.s``; ``Putin`` does not match ``Putin's`` (one token).
* Words in a row under one field are analyzed as one text (Elasticsearch splits on operators,
  not on whitespace): ``actor:(Vladimir Putin)`` is the keyword ``vladimir putin``; a word
  directly before AND/OR stays apart, so ``actor:(Vladimir Putin OR x)`` is three clauses.
  For text fields this is the same as OR-ing the words.
* ``"..."`` is a phrase (consecutive positions); ``"..."~N`` allows N moves (Lucene slop).
* Keyword fields (``actor``, ``topic``, ``source``...) compare the whole value, lower-cased:
  ``actor:"vladimir putin"`` matches ``Vladimir Putin``; ``actor:Putin`` does not. Fields mapped
  without normalizer (``url``, ``story_id``, ``article_id``...) are case-sensitive.
* Booleans follow Lucene's classic parser, not textbook precedence: one flat clause list per
  parenthesis level; ``AND`` makes the clauses on both sides required, ``OR`` or nothing leaves
  them optional, ``NOT``/``-``/``!`` prohibit, ``+`` requires; once a clause is required the
  optional ones stop mattering. So ``a OR b AND c`` = ``+b +c``, ``a AND b OR c`` = ``+a +b``,
  ``a OR NOT b`` = ``a -b``. Only-prohibited lists match everything else (``NOT gaza``, at any
  level: ``a OR (NOT b)`` = a or not b).
* ``*``/``?`` wildcards and ``/regex/`` match one token (text) or the whole value (keyword);
  ``field:*`` and ``_exists_:field`` test presence (an empty string is present); ``*`` alone
  means title or text present; ``*:*`` matches all. A trailing-``*`` prefix is analyzed
  (``cease-fi*`` = ``cease OR fi*``); other wildcards are only lower-cased; regexps are
  lower-cased on keyword fields only.
* Ranges ``[a TO b]``, ``{a TO b}``, ``field:>x`` ``>=`` ``<`` ``<=`` work on dates (date math,
  Elasticsearch's rounding — see :mod:`.dates`), numbers and strings (term order). A date as a
  term (``published:2025-05-11``) is that whole day. Times are UTC unless they carry an offset.
* ``word~`` fuzzy: AUTO edits (0 up to 2 characters, 1 up to 5, else 2), ``~1``/``~2``
  explicit, a transposition counts one edit. Boosts ``^N`` are accepted and ignored.

Known differences from Elasticsearch:

* Unknown fields raise :class:`QueryError` (``strict=False``: they match nothing, as in ES);
  an empty query raises too (ES: matches nothing). Field-name patterns (``act\\*:x``) and
  ``*:word`` are not supported.
* Fuzzy queries match every term within the edit distance; ES keeps only the 50 best terms of
  the whole index (``max_expansions``), which can drop matches on a large index.
* Regexps: intersection ``&``, complement ``~`` and intervals ``<n-m>`` raise QueryError.
* The tokenizer derives Unicode 9 word-break classes from general categories: rare scripts and
  emoji sequences may split differently; ``ignore_above`` on ``title.raw`` is not applied;
  numbers are compared as doubles (ES: ``float`` fields in single precision).
* Kibana may send its browser ``time_zone`` with the query: date-only bounds then mean local
  days there, UTC days here.
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
