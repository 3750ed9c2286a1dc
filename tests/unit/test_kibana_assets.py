"""The shipped Kibana saved objects, the offline validator, and the import client.

Kibana itself cannot run here (no binary, nothing to install; see SERVICES.md C.1), so the
objects are checked statically against our index templates, and ``import_objects`` is tested
against a small receiver on 127.0.0.1 that records what our client sends and checks the parts
of Kibana's import contract we rely on (multipart field ``file``, an ``.ndjson`` filename,
``kbn-xsrf``, ``overwrite=true``). The receiver is a test double for our client, not a Kibana.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from index.kibana import (
    DEFAULT_OBJECTS,
    KibanaError,
    flatten_mapping,
    import_objects,
    load_objects,
    newsmon_mappings,
    query_fields,
    validate_file,
    validate_objects,
)

ARTICLES, ALERTS = newsmon_mappings()
Obj = dict[str, Any]


def shipped() -> list[Obj]:
    return load_objects(DEFAULT_OBJECTS)


def find(objects: list[Obj], type_: str, id_: str) -> Obj:
    return next(o for o in objects if o["type"] == type_ and o["id"] == id_)


def problems_after(change: Callable[[list[Obj]], None]) -> list[str]:
    objects = copy.deepcopy(shipped())
    change(objects)
    return validate_objects(objects, ARTICLES, ALERTS)


def edit_json(obj: Obj, path: tuple[str, ...], edit: Callable[[Any], Any]) -> None:
    """Apply ``edit`` to the decoded value of a string-encoded JSON attribute."""
    holder = obj["attributes"]
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = json.dumps(edit(json.loads(holder[path[-1]])))


def lens_column(objects: list[Obj], id_: str, column: str) -> Obj:
    layers = find(objects, "lens", id_)["attributes"]["state"]["datasourceStates"]["formBased"]
    return next(layer["columns"][column] for layer in layers["layers"].values())


# ---------------------------------------------------------------- the shipped file


def test_shipped_file_passes_validation() -> None:
    assert validate_file(DEFAULT_OBJECTS, ARTICLES, ALERTS) == []


def test_shipped_objects_are_the_ones_users_expect() -> None:
    kinds = {(o["type"], o["id"]) for o in shipped()}
    assert kinds == {
        ("index-pattern", "newsmon-articles"), ("index-pattern", "newsmon-alerts"),
        ("search", "newsmon-peace-talks-latest"), ("search", "newsmon-peace-talks-by-actor"),
        ("lens", "newsmon-articles-by-topic"), ("lens", "newsmon-top-actors"),
        ("lens", "newsmon-top-sources"), ("lens", "newsmon-alerts-over-time"),
        ("dashboard", "newsmon-peace-talks"),
    }
    objects = shipped()
    articles = find(objects, "index-pattern", "newsmon-articles")["attributes"]
    alerts = find(objects, "index-pattern", "newsmon-alerts")["attributes"]
    assert (articles["title"], articles["timeFieldName"]) == ("news-articles*", "published")
    assert (alerts["title"], alerts["timeFieldName"]) == ("news-alerts*", "created")
    latest = find(objects, "search", "newsmon-peace-talks-latest")["attributes"]
    assert latest["title"] == "Peace talks — latest"
    assert latest["columns"] == ["title", "source", "actor", "published"]
    assert latest["sort"] == [["published", "desc"]]
    source = json.loads(latest["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert source["query"] == {"query": "topic:peace_talks", "language": "lucene"}
    by_actor = find(objects, "search", "newsmon-peace-talks-by-actor")["attributes"]
    source = json.loads(by_actor["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert source["query"]["query"] == "topic:peace_talks AND actor:*"


def test_dashboard_panels_use_kibana_8_reference_naming() -> None:
    dashboard = find(shipped(), "dashboard", "newsmon-peace-talks")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    refs = {r["name"]: (r["type"], r["id"]) for r in dashboard["references"]}
    targets = {refs[f"{p['panelIndex']}:{p['panelRefName']}"] for p in panels}
    assert targets == {
        ("lens", "newsmon-articles-by-topic"), ("lens", "newsmon-top-actors"),
        ("lens", "newsmon-top-sources"), ("search", "newsmon-peace-talks-latest"),
        ("lens", "newsmon-alerts-over-time"),
    }
    assert all(p["panelRefName"] == f"panel_{p['panelIndex']}" for p in panels)


def test_lens_layers_reference_their_data_view_by_layer_id() -> None:
    for lens in (o for o in shipped() if o["type"] == "lens"):
        state = lens["attributes"]["state"]
        refs = {r["name"]: r["id"] for r in lens["references"]}
        for layer_id in state["datasourceStates"]["formBased"]["layers"]:
            assert f"indexpattern-datasource-layer-{layer_id}" in refs


@pytest.mark.parametrize(("lens", "column", "operation", "field"), [
    ("newsmon-articles-by-topic", "published-histogram", "date_histogram", "published"),
    ("newsmon-articles-by-topic", "topic-terms", "terms", "topic.raw"),
    ("newsmon-top-actors", "actor-terms", "terms", "actor.raw"),
    ("newsmon-top-sources", "source-terms", "terms", "source.raw"),
    ("newsmon-alerts-over-time", "created-histogram", "date_histogram", "created"),
])
def test_lens_columns_aggregate_the_brief_fields(lens: str, column: str, operation: str,
                                                 field: str) -> None:
    found = lens_column(shipped(), lens, column)
    assert (found["operationType"], found["sourceField"]) == (operation, field)


# ---------------------------------------------------------------- each problem class is caught

LATEST, BY_ACTOR = "newsmon-peace-talks-latest", "newsmon-peace-talks-by-actor"


def search(o: list[Obj], id_: str = LATEST) -> Obj:
    return find(o, "search", id_)


def lens_attrs(o: list[Obj], id_: str) -> Obj:
    attrs: Obj = find(o, "lens", id_)["attributes"]
    return attrs


def dashboard(o: list[Obj]) -> Obj:
    return find(o, "dashboard", "newsmon-peace-talks")


def move_panel(o: list[Obj], n: int, **grid: int) -> None:
    edit_json(dashboard(o), ("panelsJSON",), lambda panels: [
        {**p, "gridData": {**p["gridData"], **grid}} if i == n else p
        for i, p in enumerate(panels)])


def set_query(o: list[Obj], text: str) -> None:
    edit_json(search(o), ("kibanaSavedObjectMeta", "searchSourceJSON"),
              lambda source: {**source, "query": {"query": text, "language": "lucene"}})


CASES = [
    (lambda o: search(o)["attributes"]["columns"].append("nosuch"),
     "column field 'nosuch' is not in the mapping", "unknown column"),
    (lambda o: lens_column(o, "newsmon-top-actors", "actor-terms").update(sourceField="title"),
     "terms field 'title' is text", "text field in terms"),
    (lambda o: lens_column(o, "newsmon-articles-by-topic", "published-histogram").update(
        sourceField="source"), "date_histogram field 'source' is keyword", "keyword histogram"),
    (lambda o: lens_column(o, "newsmon-alerts-over-time", "rule-terms").update(
        sourceField="actor"), "terms field 'actor' is not in the mapping", "wrong data view"),
    (lambda o: search(o)["references"][0].update(id="newsmon-gone"),
     "-> index-pattern:newsmon-gone is not in the file", "dangling reference"),
    (lambda o: o.append(copy.deepcopy(find(o, "lens", "newsmon-top-actors"))),
     "duplicate id for type lens", "duplicate id"),
    (lambda o: dashboard(o)["attributes"].update(panelsJSON='[{"panelIndex": "a"'),
     "panelsJSON is not valid JSON", "bad panelsJSON"),
    (lambda o: search(o, BY_ACTOR)["attributes"]["kibanaSavedObjectMeta"].update(
        searchSourceJSON='{"query": '), "searchSourceJSON is not valid JSON", "bad searchSource"),
    (lambda o: move_panel(o, 1, x=40, w=24), "x=40 w=24 y=15 h=15 leaves the 48-column grid",
     "grid overflow"),
    (lambda o: move_panel(o, 2, x=12), "panels top-actors and top-sources overlap", "overlap"),
    (lambda o: find(o, "index-pattern", "newsmon-articles")["attributes"].update(
        timeFieldName="source"), "time field 'source' is keyword", "keyword time field"),
    (lambda o: find(o, "index-pattern", "newsmon-alerts")["attributes"].update(
        timeFieldName="published_at"), "time field 'published_at' is not in", "unknown time"),
    (lambda o: search(o, BY_ACTOR)["attributes"].update(sort=[["title", "asc"]]),
     "sort field 'title' is text", "sort on text"),
    (lambda o: set_query(o, "topc:peace_talks"), "query field 'topc' is not in the mapping",
     "query field typo"),
    (lambda o: lens_attrs(o, "newsmon-top-sources")["state"]["query"].update(query="a:("),
     "does not parse", "unparsable Lens query"),
    (lambda o: (a := lens_attrs(o, "newsmon-top-sources")).update(state=json.dumps(a["state"])),
     "Lens state must be an object", "Lens state as string"),
    (lambda o: lens_attrs(o, "newsmon-top-actors")["state"]["visualization"]["layers"][0].update(
        accessors=["gone"]), "accessor 'gone' is not a column", "missing accessor"),
    (lambda o: find(o, "lens", "newsmon-top-actors")["references"].pop(),
     "reference named 'indexpattern-datasource-layer-top-actors'", "missing layer reference"),
    (lambda o: dashboard(o)["references"].pop(0),
     "no reference named 'articles-by-topic:panel_articles-by-topic'", "unresolved panel"),
    (lambda o: search(o).update(typeMigrationVersion="10.5.0"), "not newer than 9.2.0",
     "future migration version"),
    (lambda o: find(o, "index-pattern", "newsmon-alerts")["attributes"].update(title="logs-*"),
     "matches no newsmon index", "data view matching nothing"),
    (lambda o: lens_column(o, "newsmon-top-actors", "actor-terms").update(
        sourceField="actor.rw"), "terms field 'actor.rw' is not in the mapping", "sub-field typo"),
]


@pytest.mark.parametrize("field", ["actor", "source", "topic"])
def test_terms_on_a_raw_subfield_needs_the_subfield_in_the_mapping(field: str) -> None:
    """The panels aggregate ``<field>.raw`` (names as written, not lower-cased by the ``lc``
    normalizer): without that sub-field in the mapping the validator says so."""
    articles = copy.deepcopy(ARTICLES)
    assert articles[field]["normalizer"] == "lc"
    assert articles[field]["fields"]["raw"] == {"type": "keyword"}
    del articles[field]["fields"]
    problems = validate_objects(shipped(), articles, ALERTS)
    assert any(f"terms field '{field}.raw' is not in the mapping" in p for p in problems), problems


@pytest.mark.parametrize(("change", "expected"), [pytest.param(c, e, id=i) for c, e, i in CASES])
def test_validator_catches(change: Callable[[list[Obj]], None], expected: str) -> None:
    problems = problems_after(change)
    assert any(expected in p for p in problems), problems


def test_envelope_problems() -> None:
    objects: list[Any] = [{"type": "search", "attributes": {}, "references": [{"name": "x"}]}, 3]
    problems = validate_objects(objects, ARTICLES, ALERTS)
    assert any("not a JSON object" in p for p in problems)
    assert any("malformed" in p and "'id'" in p for p in problems)


def test_query_fields_reads_kql_and_lucene() -> None:
    kql = {"query": 'actor : "x:y" and nosuch >= 3 or not topic:peace_talks', "language": "kuery"}
    assert query_fields(kql) == (["actor", "nosuch", "topic"], None)
    lucene = {"query": "_exists_:story_id AND (actor:* OR title:\"a:b\")", "language": "lucene"}
    assert sorted(query_fields(lucene)[0]) == ["actor", "story_id", "title"]
    assert query_fields({"query": "x", "language": "sql"})[1] is not None


def test_flatten_mapping_includes_subfields_and_objects() -> None:
    fields = flatten_mapping(ARTICLES)
    assert fields["title"] == "text" and fields["title.raw"] == "keyword"
    assert fields["actors.salience"] == "float" and "actors" not in fields
    assert flatten_mapping(ALERTS)["actors"] == "keyword"


# ---------------------------------------------------------------- file level


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("a.ndjson", '{"type":"x"}\n\n{"type":"y"}\n', "line 2: blank line"),
    ("a.ndjson", '{"type":"x"}', "no final newline"),
    ("a.ndjson", '{"type":\n', "line 1: not JSON"),
    ("a.ndjson", "[1]\n", "line 1: not an object"),
    ("a.json", '{"type":"x"}\n', "only .ndjson"),
])
def test_file_level_problems(tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert any(expected in p for p in validate_file(path, ARTICLES, ALERTS))
    with pytest.raises(KibanaError, match=expected.split(": ")[-1]):
        load_objects(path)


def test_export_summary_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "export.ndjson"
    path.write_text(DEFAULT_OBJECTS.read_text("utf-8") + '{"exportedCount":9,"missingRefCount":0,'
                    '"missingReferences":[]}\n', encoding="utf-8")
    assert len(load_objects(path)) == len(shipped())
    assert validate_file(path, ARTICLES, ALERTS) == []


# ---------------------------------------------------------------- import client


class _Receiver(BaseHTTPRequestHandler):
    """Records each request; answers 400 when the import contract is not met, else ``reply``."""

    server: _ReceiverServer

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {self.headers.get('Content-Type', '')}\r\n\r\n".encode() + body)
        parts = {part.get_param("name", header="content-disposition"): part
                 for part in message.iter_parts()} if message.is_multipart() else {}
        upload = parts.get("file")
        record = {"path": self.path, "headers": dict(self.headers),
                  "parts": sorted(map(str, parts)),
                  "filename": upload.get_filename() if upload else None,
                  "content": upload.get_payload(decode=True) if upload else None}
        self.server.requests.append(record)
        if self.headers.get("kbn-xsrf") != "true":
            status, reply = 400, {"statusCode": 400, "message": "Request must contain a kbn-xsrf"}
        elif upload is None or not str(record["filename"]).endswith(".ndjson"):
            status, reply = 415, {"statusCode": 415, "message": "Unsupported file extension"}
        else:
            status, reply = self.server.reply
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet."""


class _ReceiverServer(ThreadingHTTPServer):
    requests: list[dict[str, Any]]
    reply: tuple[int, Any]


@pytest.fixture
def receiver() -> Iterator[_ReceiverServer]:
    server = _ReceiverServer(("127.0.0.1", 0), _Receiver)
    server.requests, server.reply = [], (200, {"success": True, "successCount": 9})
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def url_of(server: _ReceiverServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


def test_import_posts_the_ndjson_file_as_kibana_expects(receiver: _ReceiverServer) -> None:
    answer = import_objects(url_of(receiver) + "/", DEFAULT_OBJECTS)
    assert answer == {"success": True, "successCount": 9}
    (request,) = receiver.requests
    assert request["path"] == "/api/saved_objects/_import?overwrite=true"
    assert request["headers"]["kbn-xsrf"] == "true"
    assert request["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert request["parts"] == ["file"]
    assert request["filename"] == "newsmon.ndjson"
    assert request["content"] == DEFAULT_OBJECTS.read_bytes()


def test_import_into_a_space_without_overwrite_with_auth(receiver: _ReceiverServer) -> None:
    import_objects(url_of(receiver), DEFAULT_OBJECTS, overwrite=False, space="ops team",
                   auth=("elastic", "changeme"))
    (request,) = receiver.requests
    assert request["path"] == "/s/ops%20team/api/saved_objects/_import"
    assert request["headers"]["Authorization"].startswith("Basic ")


def test_import_failure_lists_kibana_errors(receiver: _ReceiverServer) -> None:
    errors = [{"type": "search", "id": "newsmon-peace-talks-latest",
               "error": {"type": "missing_references",
                         "references": [{"type": "index-pattern", "id": "newsmon-articles"}]}}]
    receiver.reply = (200, {"success": False, "successCount": 8, "errors": errors})
    with pytest.raises(KibanaError, match="search:newsmon-peace-talks-latest.*missing_references"
                       ) as caught:
        import_objects(url_of(receiver), DEFAULT_OBJECTS)
    assert caught.value.errors == errors


def test_import_http_error_is_clear(receiver: _ReceiverServer, tmp_path: Path) -> None:
    receiver.reply = (401, {"statusCode": 401, "message": "Unauthorized"})
    with pytest.raises(KibanaError, match="HTTP 401.*Unauthorized"):
        import_objects(url_of(receiver), DEFAULT_OBJECTS)


def test_import_refuses_non_ndjson_before_sending(receiver: _ReceiverServer,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "objects.json"
    path.write_text("{}\n", encoding="utf-8")
    with pytest.raises(KibanaError, match=r"only \.ndjson"):
        import_objects(url_of(receiver), path)
    assert receiver.requests == []


def test_import_unreachable_kibana() -> None:
    with pytest.raises(KibanaError, match="cannot reach Kibana"):
        import_objects("http://127.0.0.1:9", DEFAULT_OBJECTS, timeout=2)
