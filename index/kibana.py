"""Kibana 9.2 saved objects for newsmon (``deploy/kibana/newsmon.ndjson``): load, check, import.

Kibana cannot run here, so :func:`validate_objects` checks statically what an import would reject
or a panel would render broken. Limits: KQL field names are found by pattern (nested ``a:{b:c}``
is not understood), Lucene by :mod:`newsmon.query.syntax`; by-value dashboard panels are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from index.layout import article_mapping, load_layout
from newsmon.query.errors import QueryError
from newsmon.query.syntax import Group, Leaf, parse

Obj = dict[str, Any]
Fields = dict[str, str]  # flattened field name -> Elasticsearch type
Refs = Mapping[str, Obj]  # reference name -> reference

TARGET, TARGET_VERSION = "9.2.0", (9, 2, 0)  # the Kibana (and Elasticsearch) release we run
GRID_COLUMNS = 48
INDEX_NAMES = ("news-articles-000001", "news-alerts")  # what data-view titles must match
NUMERIC = set("long integer short byte double float half_float scaled_float unsigned_long".split())
DATES = {"date", "date_nanos"}
TERMS_TYPES = {"keyword", "constant_keyword", "boolean", "ip"} | NUMERIC
NOT_SORTABLE = {"text", "match_only_text", "object", "nested", "binary"}
META_FIELDS = {"_id": "keyword", "_index": "keyword", "_score": "float", "_source": "_source"}
USE_TYPES = {"terms": TERMS_TYPES, "date_histogram": DATES, "time": DATES,  # Lens, visState aggs
             "unique_count": TERMS_TYPES | DATES, "cardinality": TERMS_TYPES | DATES,
             **dict.fromkeys(("sum", "avg", "average", "median", "min", "max", "percentile",
                              "standard_deviation"), NUMERIC)}
LENS_TYPES = {"lnsXY", "lnsDatatable", "lnsMetric", "lnsLegacyMetric", "lnsPie", "lnsHeatmap",
              "lnsGauge", "lnsTagcloud"}
JSON_ATTRS = {"fields": list, "sourceFilters": list, "panelsJSON": list, **dict.fromkeys((
    "fieldFormatMap", "runtimeFieldMap", "fieldAttrs", "typeMeta", "visState", "uiStateJSON",
    "optionsJSON"), dict)}  # string-encoded JSON attributes (data view, visualization, dashboard)
_KQL_FIELD = re.compile(r"(?<![\w.@*-])([A-Za-z_@*][\w.@*-]*)\s*(?::|<=|>=|<|>)")
_KQL_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
DEFAULT_OBJECTS = Path(__file__).resolve().parent.parent / "deploy" / "kibana" / "newsmon.ndjson"


class KibanaError(Exception):
    """The file cannot be read, or Kibana refused the import (``errors`` as Kibana listed them)."""

    def __init__(self, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


def newsmon_mappings() -> tuple[dict[str, Any], dict[str, Any]]:
    """The article and alert mapping ``properties`` from ``index/templates``."""
    alerts = load_layout().index_templates["news-alerts"]["template"]["mappings"]["properties"]
    return article_mapping(), dict(alerts)


def _read(path: Path) -> tuple[list[Obj], list[str]]:
    problems = [] if path.suffix == ".ndjson" else [f"{path.name}: Kibana imports only .ndjson"]
    try:
        lines = path.read_bytes().decode("utf-8").split("\n")
    except UnicodeDecodeError as exc:
        return [], [*problems, f"{path.name}: not UTF-8 ({exc})"]
    problems += [f"{path.name}: no final newline"] if lines[-1] else []
    objects: list[Obj] = []
    for no, line in enumerate(lines if lines[-1] else lines[:-1], 1):
        try:
            item = json.loads(line) if line.strip() else "blank line"
        except json.JSONDecodeError as exc:
            item = f"not JSON ({exc.msg})"
        if not isinstance(item, dict):
            problems.append(f"line {no}: {item if isinstance(item, str) else 'not an object'}")
        elif "exportedCount" not in item:  # an export's summary line is not an object
            objects.append(item)
    return objects, problems


def load_objects(path: str | Path) -> list[Obj]:
    """Saved objects, one per line; :class:`KibanaError` lists every line that fails."""
    objects, problems = _read(Path(path))
    if problems:
        raise KibanaError("; ".join(problems))
    return objects


def validate_file(path: str | Path, article_props: Mapping[str, Any],
                  alert_props: Mapping[str, Any]) -> list[str]:
    """File-level problems (suffix, UTF-8, blank or bad lines) plus :func:`validate_objects`."""
    objects, problems = _read(Path(path))
    return problems + validate_objects(objects, article_props, alert_props)


def flatten_mapping(props: Mapping[str, Any], prefix: str = "") -> Fields:
    """``{"actors.name": "keyword", "title": "text", "title.raw": "keyword", ...}``."""
    out: Fields = {}
    for name, spec in props.items():
        if "properties" in spec:
            out.update(flatten_mapping(spec["properties"], f"{prefix}{name}."))
        if "type" in spec or "properties" not in spec:
            out[prefix + name] = str(spec.get("type", "object"))
        for sub, sub_spec in spec.get("fields", {}).items():
            out[f"{prefix}{name}.{sub}"] = str(sub_spec.get("type", "object"))
    return out


def field_problem(fields: Fields | None, name: Any, use: str) -> str | None:
    """Why ``name`` cannot serve ``use`` (column, sort, terms, ...); None if fine or no fields."""
    if fields is None:  # unknown data view: reported where it is referenced
        return None
    if not isinstance(name, str) or not name:
        return f"{use} field must be a non-empty string, got {name!r}"
    known = {**META_FIELDS, **fields}
    types = ({known[name]} if name in known
             else {t for f, t in known.items() if "*" in name and fnmatchcase(f, name)})
    if not types:
        return f"{use} field '{name}' is not in the mapping"
    have, allowed = "/".join(sorted(types)), USE_TYPES.get(use)
    if allowed is not None and not types <= allowed:
        return f"{use} field '{name}' is {have}; {use} needs {'/'.join(sorted(allowed))}"
    if use == "sort" and types & NOT_SORTABLE:
        return f"sort field '{name}' is {have} and cannot be sorted on"
    return None


def query_fields(query: Any) -> tuple[list[str], str | None]:
    """Field names a ``{query, language}`` object uses, or an error message."""
    if not isinstance(query, Mapping) or not isinstance(query.get("query"), str):
        return [], f"query must be {{query: str, language}}, got {query!r}"
    text, language = query["query"], query.get("language")
    if language == "kuery":
        return _KQL_FIELD.findall(_KQL_QUOTED.sub('""', text)), None
    if language != "lucene":
        return [], f"query language must be kuery or lucene, got {language!r}"
    try:
        stack: list[Group | Leaf] = [parse(text)] if text.strip() else []
    except QueryError as exc:
        return [], f"Lucene query {text!r} does not parse ({exc})"
    found: list[str] = []
    while stack:
        node = stack.pop()
        if isinstance(node, Group):
            stack.extend(clause.node for clause in node.clauses)
        elif node.field is not None:
            found.append(node.text if node.field == "_exists_" else node.field)
    return found, None


def _parse_json(attrs: Any, key: str, want: type) -> tuple[Any, str | None]:
    raw = attrs.get(key) if isinstance(attrs, Mapping) else None
    if not isinstance(raw, str):
        return None, f"{key} must be a JSON string, got {type(raw).__name__}"
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"{key} is not valid JSON ({exc.msg} at {exc.pos})"
    ok = isinstance(value, want)
    return (value, None) if ok else (None, f"{key} is not a JSON {want.__name__}")


class _Validator:
    def __init__(self, objects: list[Obj], indices: Mapping[str, Fields]) -> None:
        self.objects, self.indices = objects, indices
        self.by_key = {(str(o.get("type")), str(o.get("id"))): o for o in objects}
        self.problems: list[str] = []
        self.where = ""

    def add(self, problem: str | None, prefix: str = "") -> None:
        if problem:
            self.problems.append(f"{self.where}: {prefix}{problem}")

    def run(self) -> list[str]:
        seen: set[tuple[str, str]] = set()
        for pos, obj in enumerate(self.objects, 1):
            key = (str(obj.get("type")), str(obj.get("id")))
            self.where = f"#{pos} {key[0]}:{key[1]}"
            self.add(f"duplicate id for type {key[0]}" if key in seen else None)
            seen.add(key)
            if self.envelope(obj):
                self.add(None if obj["attributes"].get("title") else "title is missing")
                self.references(obj)
                check = getattr(self, "check_" + obj["type"].replace("-", "_"), None)
                self.add(None if check else f"type {obj['type']!r} is not one newsmon checks")
                if check is not None:
                    check(obj["attributes"], {r["name"]: r for r in obj["references"]})
        return self.problems

    def envelope(self, obj: Obj) -> bool:
        shape = {"type": str, "id": str, "attributes": dict, "references": list}
        bad: list[Any] = [k for k, kind in shape.items() if not isinstance(obj.get(k), kind)
                          or obj.get(k) == ""]
        refs = obj["references"] if "references" not in bad else []
        bad += [r for r in refs if not (isinstance(r, dict) and all(
            isinstance(r.get(k), str) and r[k] for k in ("name", "type", "id")))]
        self.add(f"malformed {bad}: needs string type and id, object attributes, references "
                 "of string name, type and id" if bad else None)
        versions = [obj[k] for k in ("coreMigrationVersion", "typeMigrationVersion") if k in obj]
        for value in versions + list((obj.get("migrationVersion") or {}).values()):
            match = _VERSION.match(value) if isinstance(value, str) else None
            if match is None or tuple(map(int, match.groups())) > TARGET_VERSION:
                self.add(f"migration version {value!r} must be x.y.z, not newer than {TARGET}")
        for key, want in JSON_ATTRS.items() if not bad else ():
            if key in obj["attributes"]:
                self.add(_parse_json(obj["attributes"], key, want)[1])
        return not bad

    def references(self, obj: Obj) -> None:
        names = [r["name"] for r in obj["references"]]
        for name in sorted({n for n in names if names.count(n) > 1}):
            self.add(f"reference name '{name}' is used twice")
        for ref in obj["references"]:
            if (ref["type"], ref["id"]) not in self.by_key:
                self.add(f"reference '{ref['name']}' -> {ref['type']}:{ref['id']} "
                         "is not in the file (Kibana: missing_references)")

    def fields_of(self, refs: Refs, name: str) -> Fields | None:
        ref = refs.get(name)
        if ref is None or ref["type"] != "index-pattern":
            self.add(f"needs an index-pattern reference named '{name}'")
            return None
        target = self.by_key.get(("index-pattern", ref["id"]))
        title = target["attributes"].get("title") if target else None
        return self.fields_for_title(title) if isinstance(title, str) else None

    def fields_for_title(self, title: str) -> Fields | None:
        parts = [p.strip() for p in title.split(",")]
        hits = [f for index, f in self.indices.items() if any(fnmatchcase(index, p) for p in parts)]
        return {k: v for fields in hits for k, v in fields.items()} if hits else None

    def query(self, query: Any, fields: Fields | None, label: str) -> None:
        names, error = query_fields(query)
        self.add(error, f"{label}: ")
        for name in names:
            self.add(field_problem(fields, name, "query"), f"{label} {query.get('query')!r}: ")

    def source(self, attrs: Obj) -> Any:
        source, error = _parse_json(attrs.get("kibanaSavedObjectMeta"), "searchSourceJSON", dict)
        self.add(error)
        return source

    def check_index_pattern(self, attrs: Obj, refs: Refs) -> None:
        title = attrs.get("title")
        fields = self.fields_for_title(title) if isinstance(title, str) else None
        if not isinstance(title, str) or not all(p.strip() for p in title.split(",")):
            self.add(f"title must be a comma-separated index pattern, got {title!r}")
        elif fields is None:
            self.add(f"title '{title}' matches no newsmon index ({', '.join(self.indices)})")
        elif attrs.get("timeFieldName"):
            self.add(field_problem(fields, attrs["timeFieldName"], "time"), "timeFieldName: ")

    def check_search(self, attrs: Obj, refs: Refs) -> None:
        source = self.source(attrs)
        if source is None:
            return
        self.add(None if isinstance(source.get("filter", []), list) else "filter must be a list")
        fields = self.fields_of(refs, str(source.get("indexRefName")))
        self.query(source.get("query"), fields, "query")
        columns, sort = attrs.get("columns", []), attrs.get("sort", [])
        if not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
            self.add(f"columns must be a list of strings, got {columns!r}")
            columns = []
        if not (isinstance(sort, list) and all(
                isinstance(s, list) and len(s) == 2 and s[1] in ("asc", "desc") for s in sort)):
            self.add(f"sort must be a list of [field, 'asc'|'desc'], got {sort!r}")
            sort = []
        for name, use in [(c, "column") for c in columns] + [(s[0], "sort") for s in sort]:
            self.add(field_problem(fields, name, use))

    def check_lens(self, attrs: Obj, refs: Refs) -> None:
        state, vis_type = attrs.get("state"), attrs.get("visualizationType")
        if not isinstance(state, dict):
            self.add(f"Lens state must be an object, got {type(state).__name__}")
            return
        self.add(None if vis_type in LENS_TYPES else f"unknown visualizationType {vis_type!r}")
        layers = ((state.get("datasourceStates") or {}).get("formBased") or {}).get("layers") or {}
        self.add(None if layers else "no formBased layers")
        union: Fields = {}
        for layer_id, layer in layers.items():
            fields = self.fields_of(refs, f"indexpattern-datasource-layer-{layer_id}")
            union.update(fields or {})
            self.lens_layer(layer_id, layer, fields)
        self.query(state.get("query"), union or None, "Lens query")
        self.lens_accessors(state.get("visualization") or {}, layers)

    def lens_layer(self, layer_id: str, layer: Obj, fields: Fields | None) -> None:
        columns = layer.get("columns") or {}
        if sorted(layer.get("columnOrder", [])) != sorted(columns):
            self.add(f"layer {layer_id}: columnOrder does not list exactly its columns")
        for col_id, col in columns.items():
            where = f"layer {layer_id} column {col_id}: "
            op, name = str(col.get("operationType")), col.get("sourceField")
            order = (col.get("params") or {}).get("orderBy") or {}
            if order.get("type") == "column" and order.get("columnId") not in columns:
                self.add(f"orderBy column {order.get('columnId')!r} does not exist", where)
            if "filter" in col:
                self.query(col["filter"], fields, f"{where}filter")
            if name is not None and name != "___records___":
                self.add(field_problem(fields, name, op if op in USE_TYPES else "column"), where)

    def lens_accessors(self, vis: Obj, layers: Mapping[str, Obj]) -> None:
        for vis_layer in vis.get("layers") or ([vis] if "layerId" in vis else []):
            layer_id, keys = vis_layer.get("layerId"), ("xAccessor", "splitAccessor", "accessor")
            columns = (layers.get(layer_id) or {}).get("columns") or {}
            ids = [vis_layer.get(k) for k in (*keys, "metricAccessor")] + vis_layer.get(
                "accessors", []) + [c.get("columnId") for c in vis_layer.get("columns", [])]
            for col_id in (i for i in ids if i is not None and i not in columns):
                self.add(f"accessor {col_id!r} is not a column of layer {layer_id!r}")

    def check_visualization(self, attrs: Obj, refs: Refs) -> None:
        vis, _ = _parse_json(attrs, "visState", dict)  # a parse error is reported by envelope()
        source = self.source(attrs) or {}
        fields = self.fields_of(refs, source["indexRefName"]) if "indexRefName" in source else None
        self.query(source.get("query", {"query": "", "language": "kuery"}), fields, "query")
        for agg in (vis or {}).get("aggs", []):
            name, use = (agg.get("params") or {}).get("field"), str(agg.get("type"))
            if name is not None:
                use = use if use in USE_TYPES else "column"
                self.add(field_problem(fields, name, use), f"agg {agg.get('id')}: ")

    def check_dashboard(self, attrs: Obj, refs: Refs) -> None:
        query = (self.source(attrs) or {}).get("query", {"query": "", "language": "kuery"})
        self.query(query, {k: v for f in self.indices.values() for k, v in f.items()}, "query")
        panels, _ = _parse_json(attrs, "panelsJSON", list)  # parse errors reported by envelope()
        boxes: list[tuple[str, int, int, int, int]] = []
        for panel in panels or []:
            index = panel.get("panelIndex") if isinstance(panel, dict) else None
            if not isinstance(index, str) or not index:
                self.add(f"panel {panel!r} needs a string panelIndex")
                continue
            grid: Any = panel.get("gridData") or {}
            x, y, w, h = box = [grid.get(k) for k in "xywh"]
            if not all(isinstance(v, int) for v in box):
                self.add(f"panel {index}: gridData needs integer x, y, w, h")
            elif x < 0 or y < 0 or w < 1 or h < 1 or x + w > GRID_COLUMNS:
                self.add(f"panel {index}: gridData x={x} w={w} y={y} h={h} leaves the "
                         f"{GRID_COLUMNS}-column grid")
            else:
                boxes.append((index, x, y, w, h))
            self.add(None if grid.get("i") == index else f"panel {index}: gridData.i != panelIndex")
            self.panel_ref(index, panel, refs)
        for n, (a, ax, ay, aw, ah) in enumerate(boxes):
            for b, bx, by, bw, bh in boxes[n + 1:]:
                if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                    self.add(f"panels {a} and {b} overlap")

    def panel_ref(self, index: str, panel: Obj, refs: Refs) -> None:
        ref_name = panel.get("panelRefName")
        ref = refs.get(f"{index}:{ref_name}") or refs.get(str(ref_name))
        if not isinstance(ref_name, str):
            self.add(f"panel {index}: no panelRefName (by-value panels are not checked)")
        elif ref is None:
            self.add(f"panel {index}: no reference named '{index}:{ref_name}'")
        elif panel.get("type", ref["type"]) != ref["type"]:
            self.add(f"panel {index}: type {panel.get('type')} but reference is {ref['type']}")


def validate_objects(objects: Iterable[Any], article_props: Mapping[str, Any],
                     alert_props: Mapping[str, Any]) -> list[str]:
    """Problems Kibana would reject or render broken; empty when the objects are fine."""
    items = list(objects)
    bad = [f"#{n}: not a JSON object" for n, o in enumerate(items, 1) if not isinstance(o, dict)]
    fields = [flatten_mapping(article_props), flatten_mapping(alert_props)]
    return bad + _Validator([o for o in items if isinstance(o, dict)],
                            dict(zip(INDEX_NAMES, fields, strict=True))).run()


def import_objects(kibana_url: str, path: str | Path, *, overwrite: bool = True,
                   space: str | None = None, auth: httpx.Auth | tuple[str, str] | None = None,
                   timeout: float = 60.0) -> dict[str, Any]:
    """POST the file to Kibana's import API; the parsed answer, or :class:`KibanaError`."""
    path = Path(path)
    if path.suffix != ".ndjson":
        raise KibanaError(f"{path}: Kibana imports only .ndjson files")
    prefix = f"/s/{quote(space, safe='')}" if space and space != "default" else ""
    url = f"{kibana_url.rstrip('/')}{prefix}/api/saved_objects/_import"
    try:
        response = httpx.post(url, params={"overwrite": "true"} if overwrite else {},
                              headers={"kbn-xsrf": "true"}, auth=auth, timeout=timeout,
                              files={"file": (path.name, path.read_bytes(), "application/ndjson")})
    except httpx.HTTPError as exc:
        raise KibanaError(f"cannot reach Kibana at {url}: {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:500]}
    if response.status_code >= 400 or not isinstance(body, dict):
        message = body.get("message") if isinstance(body, dict) else body
        raise KibanaError(f"Kibana answered HTTP {response.status_code} for {url}: {message}")
    if not body.get("success"):
        errors = list(body.get("errors") or [])
        listed = "; ".join(f"{e.get('type')}:{e.get('id')}: {e.get('error')}" if isinstance(
            e, dict) else repr(e) for e in errors) or "no errors listed"
        raise KibanaError(f"Kibana import of {path.name} failed: {listed}", errors)
    return body
