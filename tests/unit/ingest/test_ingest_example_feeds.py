"""The shipped example feeds file is valid, packaged, and lists distinct well-known outlets."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from newsmon.config import load_feeds


def test_example_feeds_file_loads_and_is_package_data(tmp_path: Path) -> None:
    text = resources.files("newsmon.data").joinpath("feeds.example.yaml").read_text("utf-8")
    copy = tmp_path / "feeds.yaml"
    copy.write_text(text, "utf-8")
    feeds = load_feeds(copy)
    assert len(feeds) >= 20
    assert all(f.url.scheme == "https" and f.name for f in feeds)
    hosts = {f.url.host for f in feeds}
    for outlet in (
        "feeds.bbci.co.uk",
        "www.theguardian.com",
        "kyivindependent.com",
        "meduza.io",
        "news.un.org",
        "www.nato.int",
        "tass.com",
        "rss.dw.com",
    ):
        assert outlet in hosts
