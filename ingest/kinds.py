"""How a feed poll can fail: one vocabulary shared by fetching, parsing and scheduling."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """Why a poll of one feed failed (stored in the feed state and shown in reports)."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    BAD_REDIRECT = "bad_redirect"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    GONE = "gone"
    RATE_LIMITED = "rate_limited"
    PROTOCOL = "protocol"
    PARSE = "parse"
    UNSAFE_XML = "unsafe_xml"
    BLOCKED = "blocked"  # refused by the address guard (link-local, metadata, private)
    INTERNAL = "internal"


#: Failures that usually pass by themselves: retried sooner than the others.
LIGHT_ERRORS = frozenset(
    {ErrorKind.TIMEOUT, ErrorKind.CONNECTION, ErrorKind.HTTP_5XX, ErrorKind.RATE_LIMITED}
)
