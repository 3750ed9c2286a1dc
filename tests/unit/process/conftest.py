from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DEV = ROOT / "tests" / "fixtures" / "dev"


@pytest.fixture(scope="session")
def model_tagger():  # type: ignore[no-untyped-def]
    from process.tagger import Tagger

    return Tagger.load()
