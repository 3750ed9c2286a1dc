"""Compare the index layout a cluster holds with the one shipped in ``index/templates`` (pure).

:func:`schema_problems` takes the shipped :class:`~newsmon.store.IndexLayout` and what the
store reports (``ElasticsearchStore.live_schema()``: templates, alias, live mappings) and lists
every difference as a sentence. Elasticsearch echoes values back normalised (``"1"`` for ``1``,
``"false"`` for ``false``, settings nested under ``index``), so both sides are normalised first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from newsmon.store import IndexLayout

_COMPARED_TEMPLATE_KEYS: dict[str, Any] = {"index_patterns": None, "composed_of": [],
                                           "priority": None}


def normalise(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    return value


def flat_settings(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        path = prefix + key
        if isinstance(value, Mapping):
            out.update(flat_settings(value, path + "."))
        else:
            out[path.removeprefix("index.")] = normalise(value)
    return out


def mapping_problems(shipped: Mapping[str, Any], live: Mapping[str, Any], where: str) -> list[str]:
    """Differences of two mappings (``dynamic`` and every field with its parameters)."""
    problems = []
    if normalise(shipped.get("dynamic")) != normalise(live.get("dynamic")):
        problems.append(f"{where}: dynamic is {live.get('dynamic')!r}, "
                        f"shipped {shipped.get('dynamic')!r}")
    return problems + _field_problems(shipped.get("properties", {}),
                                      live.get("properties", {}), where, "")


def _field_problems(shipped: Mapping[str, Any], live: Mapping[str, Any], where: str,
                    prefix: str) -> list[str]:
    problems = []
    for name, spec in shipped.items():
        path = prefix + name
        have = live.get(name)
        if have is None:
            problems.append(f"{where}: field {path} is missing")
            continue
        for key in sorted(set(spec) | set(have)):
            if key == "properties":
                problems += _field_problems(spec.get(key, {}), have.get(key, {}), where,
                                            path + ".")
            elif normalise(spec.get(key)) != normalise(have.get(key)):
                problems.append(f"{where}: field {path}: {key} is {have.get(key)!r}, "
                                f"shipped {spec.get(key)!r}")
    problems += [f"{where}: field {prefix + n} is not in the shipped mapping"
                 for n in sorted(set(live) - set(shipped))]
    return problems


def _component_problems(name: str, shipped: Mapping[str, Any],
                        live: Mapping[str, Any] | None) -> list[str]:
    where = f"component template {name}"
    if live is None:
        return [f"{where} is missing"]
    want, have = shipped.get("template", {}), live.get("template", {})
    problems = mapping_problems(want.get("mappings", {}), have.get("mappings", {}), where)
    want_s = flat_settings(want.get("settings", {}))
    have_s = flat_settings(have.get("settings", {}))
    problems += [f"{where}: setting {k} is {have_s.get(k)!r}, shipped {v!r}"
                 for k, v in sorted(want_s.items()) if have_s.get(k) != v]
    return problems


def _index_template_problems(name: str, shipped: Mapping[str, Any],
                             live: Mapping[str, Any] | None) -> list[str]:
    if live is None:
        return [f"index template {name} is missing"]
    problems = [f"index template {name}: {k} is {live.get(k)!r}, shipped {shipped.get(k)!r}"
                for k, default in _COMPARED_TEMPLATE_KEYS.items()
                if normalise(shipped.get(k, default)) != normalise(live.get(k, default))]
    if "template" in shipped:  # a template that carries its own mappings (news-alerts)
        problems += mapping_problems(shipped["template"].get("mappings", {}),
                                     live.get("template", {}).get("mappings", {}),
                                     f"index template {name}")
    return problems


def article_mappings(layout: IndexLayout) -> dict[str, Any]:
    merged: dict[str, Any] = {"properties": {}}
    for body in layout.component_templates.values():
        mappings = body.get("template", {}).get("mappings", {})
        merged["properties"].update(mappings.get("properties", {}))
        if "dynamic" in mappings:
            merged["dynamic"] = mappings["dynamic"]
    return merged


def alerts_mappings(layout: IndexLayout) -> dict[str, Any]:
    for body in layout.index_templates.values():
        if layout.alerts_index in body.get("index_patterns", []):
            return dict(body.get("template", {}).get("mappings", {}))
    return {}


def schema_problems(layout: IndexLayout, live: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for name, body in layout.component_templates.items():
        problems += _component_problems(name, body, live["component_templates"].get(name))
    for name, body in layout.index_templates.items():
        problems += _index_template_problems(name, body, live["index_templates"].get(name))
    aliases: Mapping[str, bool] = live["aliases"]
    if not aliases:
        problems.append(f"alias {layout.alias} is missing")
    elif len(aliases) > 1 and sum(aliases.values()) != 1:
        problems.append(f"alias {layout.alias}: {sum(aliases.values())} write indices "
                        f"among {sorted(aliases)} (want exactly one)")
    mappings: Mapping[str, Any] = live["mappings"]
    for index in sorted(aliases):
        problems += mapping_problems(article_mappings(layout), mappings.get(index, {}),
                                     f"index {index}")
    if layout.alerts_index not in mappings:
        problems.append(f"index {layout.alerts_index} is missing")
    else:
        problems += mapping_problems(alerts_mappings(layout), mappings[layout.alerts_index],
                                     f"index {layout.alerts_index}")
    return problems
