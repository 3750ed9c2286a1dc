"""The one error a query string can raise."""

from __future__ import annotations


class QueryError(ValueError):
    """A query that cannot be compiled: bad syntax, unknown field, value the field cannot hold.

    ``position`` is the 0-based character offset of the problem when it is known.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        self.position = position
        where = f" (at position {position})" if position is not None else ""
        super().__init__(message + where)
