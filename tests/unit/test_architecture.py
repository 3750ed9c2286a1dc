"""The rules of the house, checked on the source: stages never import each other, and only
adapters import the vendor clients (kafka, elasticsearch)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("ingest", "process", "index", "alert", "web")
VENDORS = ("kafka", "elasticsearch", "elastic_transport")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_stages_share_only_core(stage: str) -> None:
    others = set(STAGES) - {stage}
    for path in (ROOT / stage).rglob("*.py"):
        bad = imports(path) & (others | set(VENDORS))
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_only_adapters_import_vendor_clients() -> None:
    for path in (ROOT / "newsmon").rglob("*.py"):
        if "adapters" in path.parts:
            continue
        bad = imports(path) & set(VENDORS)
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_embedded_path_never_imports_vendor_clients() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import newsmon.wiring as w; from newsmon.config import Settings;"
        "s = Settings(store='memory://'); w.make_bus(s); w.make_store(s);"
        "import newsmon.embedded, newsmon.cli;"
        "bad = [m for m in ('kafka', 'elasticsearch') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
