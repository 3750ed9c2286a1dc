"""Changing the rules file (``NEWSMON_RULES``) safely: the lock, the atomic write, query edits.

The file stays the one source of rules that a person edits, so a change touches nothing but
itself: ``newsmon alerts add`` appends a rule (:mod:`alert.rulefile`), and the analyst page
replaces one rule's query *text span* (found by the YAML parser), keeping comments, layout and
every other rule byte for byte. Before anything is written the whole result is loaded exactly
as the services load it (schema, duplicate names, every query compiled). The write is atomic
(temporary file in the same directory, fsync, rename) under an exclusive lock, so concurrent
edits cannot lose one another and a crash leaves the old or the new file, never half of one.
Running alert workers pick a change up at their next restart.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from newsmon.config import RuleConfig, load_rules
from newsmon.errors import ConfigError
from newsmon.query import QueryError, compile_query


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (a ``.lock`` file beside it) for a read-modify-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def validated(path: Path, text: str) -> list[RuleConfig]:
    """The rules ``text`` would load as from ``path``; ConfigError names ``path``."""
    fd, probe = tempfile.mkstemp(suffix=".yaml", dir=path.parent)
    os.close(fd)
    try:
        Path(probe).write_text(text, "utf-8")
        configs = load_rules(Path(probe))
    except ConfigError as exc:
        raise ConfigError(str(exc).replace(probe, str(path))) from exc
    finally:
        Path(probe).unlink(missing_ok=True)
    for cfg in configs:
        if cfg.query is None:  # a rule kind without a query (e.g. feed health)
            continue
        try:
            compile_query(cfg.query)
        except QueryError as exc:
            raise ConfigError(f"rule {cfg.name!r}: bad query {cfg.query!r}: {exc}") from exc
    return configs


def query_span(text: str, name: str) -> tuple[int, int]:
    """Where the query of rule ``name`` is written in ``text`` (start, end of the scalar)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"the rules file is not valid YAML: {exc}") from exc
    for entry in getattr(root, "value", None) or []:
        if not isinstance(entry, yaml.MappingNode):
            continue
        fields = {k.value: v for k, v in entry.value if isinstance(k, yaml.ScalarNode)}
        rule_name, query = fields.get("name"), fields.get("query")
        if isinstance(rule_name, yaml.ScalarNode) and rule_name.value == name:
            if not isinstance(query, yaml.ScalarNode):
                break
            return query.start_mark.index, query.end_mark.index
    raise ConfigError(f"no rule named {name!r} with a query in the rules file")


def set_query(path: Path, name: str, query: str) -> RuleConfig:
    """Replace the query of rule ``name``; ConfigError (nothing written) if the rule is missing
    or the result would not load."""
    if not query.strip():
        raise ConfigError("a rule's query cannot be empty")
    with locked(path):
        try:
            old = path.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the rules file {path}: {exc.strerror}") from exc
        start, end = query_span(old, name)
        tail = old[start:end][len(old[start:end].rstrip("\n")) :]  # a block scalar's newline
        new = old[:start] + json.dumps(query, ensure_ascii=False) + tail + old[end:]
        configs = validated(path, new)
        changed = next((c for c in configs if c.name == name), None)
        if changed is None or changed.query != query:  # cannot happen: refuse to guess
            raise ConfigError(f"rule {name!r}: the edit did not read back as written")
        atomic_write(path, new)
        return changed
