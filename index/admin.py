"""``newsmon index create`` and ``newsmon index check``.

``create`` puts the component and index templates, creates the first backing index behind the
write alias and the alerts index if missing; it is idempotent (run it before every deploy).
``check`` compares what the cluster holds with the shipped layout and prints one line per
check; exit status 1 when anything differs. Stores without templates (SQLite, memory) only
create their schema.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from index.layout import load_layout
from index.schema_check import schema_problems
from newsmon.config import Settings
from newsmon.store import IndexLayout


def run_admin(action: str, settings: Settings, out: TextIO | None = None) -> int:
    from newsmon.wiring import make_store

    out = out or sys.stdout
    store = make_store(settings)
    try:
        if action == "create":
            store.ensure_schema()
            print(f"schema ready in {settings.store}", file=out)
        live_schema = getattr(store, "live_schema", None)
        if live_schema is None:
            print(f"{settings.store}: no index templates to check", file=out)
            return 0
        return report(load_layout(settings.namespace), live_schema(), out)
    finally:
        store.close()


def report(layout: IndexLayout, live: dict[str, Any], out: TextIO) -> int:
    problems = schema_problems(layout, live)
    names = [*layout.component_templates, *layout.index_templates]
    print(f"templates: {', '.join(names)}", file=out)
    print(f"alias {layout.alias}: " + (", ".join(
        f"{i}{' (write)' if w else ''}" for i, w in sorted(live["aliases"].items())) or "missing"),
        file=out)
    for problem in problems:
        print(f"MISMATCH {problem}", file=out)
    print("check: OK" if not problems else f"check: {len(problems)} problem(s)", file=out)
    return 1 if problems else 0
