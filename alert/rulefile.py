"""Adding a rule to the rules file (``NEWSMON_RULES``) safely.

The file stays the one source of rules that a person edits: ``newsmon alerts add`` appends
the new rule as YAML text (comments and layout of the rest are kept), after validating the
whole result exactly as the service will load it (schema, duplicate names, the query). The
write is atomic (temporary file in the same directory, fsync, rename) under an exclusive lock,
so two concurrent ``add`` commands cannot lose a rule and a crash leaves the old or the new
file, never half of one. Running workers pick the rule up at their next restart.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from alert.rules import compile_rules
from newsmon.config import RuleConfig, load_rules
from newsmon.errors import ConfigError


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _atomic_write(path: Path, text: str) -> None:
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


def add_rule(path: Path, rule: Mapping[str, Any]) -> RuleConfig:
    """Append ``rule`` to the file; ConfigError (nothing written) if the result is invalid."""
    with _locked(path):
        old = path.read_text("utf-8") if path.exists() else ""
        if yaml.safe_load(old) is None:
            old = ""
        block = yaml.safe_dump([dict(rule)], sort_keys=False, allow_unicode=True)
        new = (old if not old or old.endswith("\n") else old + "\n") + block
        fd, probe = tempfile.mkstemp(suffix=".yaml", dir=path.parent)
        os.close(fd)
        try:
            Path(probe).write_text(new, "utf-8")
            configs = load_rules(Path(probe))
            compile_rules(configs)
        except ConfigError as exc:  # name the real file, not the probe
            raise ConfigError(str(exc).replace(probe, str(path))) from exc
        finally:
            Path(probe).unlink(missing_ok=True)
        _atomic_write(path, new)
        return configs[-1]
