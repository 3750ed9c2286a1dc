"""Adding a rule to the rules file (``NEWSMON_RULES``) safely.

The file stays the one source of rules that a person edits: ``newsmon alerts add`` appends
the new rule as YAML text (comments and layout of the rest are kept), after validating the
whole result exactly as the service will load it (schema, duplicate names, the query). The
write is atomic (temporary file in the same directory, fsync, rename) under an exclusive lock,
so two concurrent ``add`` commands cannot lose a rule and a crash leaves the old or the new
file, never half of one (:mod:`newsmon.rulesfile`, shared with the analyst page's query edits).
Running workers pick the rule up at their next restart.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from alert.rules import compile_rules
from newsmon.config import RuleConfig, load_rules
from newsmon.errors import ConfigError
from newsmon.rulesfile import atomic_write, locked


def add_rule(path: Path, rule: Mapping[str, Any]) -> RuleConfig:
    """Append ``rule`` to the file; ConfigError (nothing written) if the result is invalid."""
    with locked(path):
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
        atomic_write(path, new)
        return configs[-1]
