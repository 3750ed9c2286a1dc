"""Search shortcuts composed into one Lucene query string: defined in the core
(:mod:`newsmon.query.compose`), shared with the analyst page; re-exported here."""

from newsmon.query.compose import MATCH_ALL, compose_query, lucene_date, parse_since, quote

__all__ = ["MATCH_ALL", "compose_query", "lucene_date", "parse_since", "quote"]
