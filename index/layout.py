"""The Elasticsearch index layout shipped as JSON templates in this package.

``namespace`` prefixes every name (templates, patterns, alias, indices) so several
deployments — or tests — share one cluster without touching each other; it is empty by default,
which gives the contract names ``news-articles`` and ``news-alerts``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from newsmon.signals import SIGNALS_INDEX
from newsmon.store import ALERTS_INDEX, ARTICLES_ALIAS, IndexLayout

_COMPONENTS = ("news-articles-settings", "news-articles-mappings")
_INDEX_TEMPLATES = ("news-articles", "news-alerts", "news-signals")


def _load(name: str) -> dict[str, Any]:
    text = resources.files("index").joinpath("templates", name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _index_template(name: str, ns: str) -> dict[str, Any]:
    body = _load(f"{name}.index-template.json")
    body["index_patterns"] = [ns + p for p in body["index_patterns"]]
    if "composed_of" in body:
        body["composed_of"] = [ns + c for c in body["composed_of"]]
    return body


def load_layout(namespace: str = "") -> IndexLayout:
    ns = namespace
    return IndexLayout(
        component_templates={ns + name: _load(f"{name}.json") for name in _COMPONENTS},
        index_templates={ns + name: _index_template(name, ns) for name in _INDEX_TEMPLATES},
        alias=ns + ARTICLES_ALIAS,
        first_index=f"{ns}{ARTICLES_ALIAS}-000001",
        alerts_index=ns + ALERTS_INDEX,
        signals_index=ns + SIGNALS_INDEX,
    )


def article_mapping() -> dict[str, Any]:
    """The ``properties`` of the article mapping (for static checks and tests)."""
    mappings = _load("news-articles-mappings.json")["template"]["mappings"]
    props: dict[str, Any] = mappings["properties"]
    return props
