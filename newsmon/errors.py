"""The one exception tree. Adapters translate vendor errors into these at their boundary.

NewsmonError
 ├── ConfigError       bad settings or data files: fail fast with a clear message
 ├── TransientError    may succeed later (outage, timeout, 429/5xx): back off, do not commit
 └── PermanentError    can never succeed (poison message, mapping error): dead-letter, commit
      └── SchemaError  (newsmon.schema) a payload that is not a valid message
"""

from __future__ import annotations


class NewsmonError(Exception):
    """Base of every error newsmon raises on purpose."""


class ConfigError(NewsmonError):
    """Settings, feeds or rules that cannot be used."""


class TransientError(NewsmonError):
    """A failure that may go away: retry after a back-off, without committing."""


class PermanentError(NewsmonError):
    """A failure that will not go away for this input: dead-letter it and move on."""
