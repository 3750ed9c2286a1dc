"""Fixtures for the ingest tests: a scriptable feed server on 127.0.0.1 and tiny settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsmon.config import IngestSettings, Settings
from tests.unit.ingest.feedserver import FeedServer, running_server


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        fetch_timeout=1.0,
        max_feed_bytes=64 * 1024,
        poll_interval=60.0,
        ingest=IngestSettings(host_spacing=0.0, full_text_min_chars=0),
    )
