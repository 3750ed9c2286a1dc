"""Acting from the page: only with the configured token, only with this page's forms."""

from __future__ import annotations

import html
import re

from pydantic import SecretStr
from starlette.testclient import TestClient

from newsmon.silences import active
from tests.unit.web.conftest import NOW, TOKEN, Newsroom

ORIGIN = {"origin": "http://127.0.0.1"}


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, page[-1500:]
    return found.group(1)


def signed_in(newsroom: Newsroom) -> TestClient:
    client = newsroom.client(web_token=SecretStr(TOKEN))
    form = client.get("/login?next=/alerts").text
    done = client.post(
        "/login", data={"csrf": csrf_of(form), "token": TOKEN, "next": "/alerts"}, headers=ORIGIN
    )
    assert done.status_code == 303 and done.headers["location"] == "/alerts"
    assert "httponly" in done.headers["set-cookie"].lower()
    assert "samesite=strict" in done.headers["set-cookie"].lower()
    return client


def test_read_only_by_default(newsroom: Newsroom) -> None:
    client = newsroom.client()
    page = client.get("/alerts").text
    assert "read-only" in page and 'action="/alerts/silence"' not in page
    refused = client.post(
        "/alerts/silence", data={"rule": "putin-ceasefire", "csrf": "x"}, headers=ORIGIN
    )
    assert refused.status_code == 403 and "read-only" in refused.text
    assert newsroom.store.get_alert("silence~putin-ceasefire") is None
    assert client.get("/login").status_code == 200  # explains, offers no form
    assert 'name="token"' not in client.get("/login").text


def test_wrong_token_and_stale_forms_open_no_session(newsroom: Newsroom) -> None:
    client = newsroom.client(web_token=SecretStr(TOKEN))
    form = client.get("/login").text
    wrong = client.post("/login", data={"csrf": csrf_of(form), "token": "guess"}, headers=ORIGIN)
    assert wrong.status_code == 401 and "That is not the token" in wrong.text
    assert "newsmon_session" not in client.cookies
    forged = client.post("/login", data={"csrf": "0" * 64, "token": TOKEN}, headers=ORIGIN)
    assert forged.status_code == 403 and "newsmon_session" not in client.cookies
    foreign = client.post(
        "/login",
        data={"csrf": csrf_of(form), "token": TOKEN},
        headers={"origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and "newsmon_session" not in client.cookies


def test_guessing_the_token_is_rate_limited(newsroom: Newsroom) -> None:
    client = newsroom.client(web_token=SecretStr(TOKEN))
    form = csrf_of(client.get("/login").text)
    for _ in range(10):
        client.post("/login", data={"csrf": form, "token": "guess"}, headers=ORIGIN)
    right = client.post("/login", data={"csrf": form, "token": TOKEN}, headers=ORIGIN)
    assert right.status_code == 401 and "Too many wrong tokens" in right.text


def test_silence_and_lift_from_the_page(newsroom: Newsroom) -> None:
    client = signed_in(newsroom)
    page = client.get("/alerts").text
    assert 'action="/alerts/silence"' in page
    done = client.post(
        "/alerts/silence",
        headers=ORIGIN,
        data={
            "csrf": csrf_of(page),
            "rule": "putin-ceasefire",
            "duration": "4h",
            "reason": "summit",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/alerts?done=silenced&rule=putin-ceasefire"
    assert set(active(newsroom.store, NOW)) == {"putin-ceasefire"}
    shown = client.get(done.headers["location"]).text
    assert "is silenced" in shown and "silenced</span> until 2025-06-01 16:00 UTC" in shown
    assert "summit" in shown
    lifted = client.post(
        "/alerts/unsilence",
        headers=ORIGIN,
        data={"csrf": csrf_of(shown), "rule": "putin-ceasefire"},
    )
    assert lifted.status_code == 303 and not active(newsroom.store, NOW)


def test_actions_need_this_pages_csrf_token_and_origin(newsroom: Newsroom) -> None:
    client = signed_in(newsroom)
    token = csrf_of(client.get("/alerts").text)
    data = {"rule": "putin-ceasefire", "duration": "1h"}
    assert client.post("/alerts/silence", data=data, headers=ORIGIN).status_code == 403
    assert (
        client.post("/alerts/silence", data={**data, "csrf": "f" * 64}, headers=ORIGIN).status_code
        == 403
    )
    cross = client.post(
        "/alerts/silence", data={**data, "csrf": token}, headers={"origin": "https://evil.example"}
    )
    assert cross.status_code == 403 and "another site" in cross.text
    stranger = newsroom.client(web_token=SecretStr(TOKEN))  # no session, someone's csrf
    assert (
        stranger.post("/alerts/silence", data={**data, "csrf": token}, headers=ORIGIN).status_code
        == 401
    )
    assert not active(newsroom.store, NOW)
    unknown = client.post(
        "/alerts/silence", data={**data, "rule": "nope", "csrf": token}, headers=ORIGIN
    )
    assert unknown.status_code == 400 and "no rule named" in unknown.text


def test_edit_a_rules_query_keeps_the_rest_of_the_file(newsroom: Newsroom) -> None:
    client = signed_in(newsroom)
    rules = newsroom.root / "rules.yaml"
    before = rules.read_text()
    token = csrf_of(client.get("/alerts").text)
    bad = client.post(
        "/alerts/query",
        headers=ORIGIN,
        data={"csrf": token, "rule": "istanbul-talks", "query": "Istanbul AND ("},
    )
    assert bad.status_code == 400 and "unexpected end of query" in bad.text
    assert "at column 15:" in bad.text and rules.read_text() == before
    new = 'Istanbul AND (topic:peace_talks OR "Türkiye talks")'
    done = client.post(
        "/alerts/query",
        headers=ORIGIN,
        data={"csrf": token, "rule": "istanbul-talks", "query": new},
    )
    assert done.status_code == 303
    after = rules.read_text()
    assert after.startswith("# rules of the test newsroom\n")
    assert "# the demo's rule" in after
    assert after.split("\n- {", 1)[0] == before.split("\n- {", 1)[0]  # first rule untouched
    from newsmon.config import load_rules

    assert {r.name: r.query for r in load_rules(rules)}["istanbul-talks"] == new
    shown = client.get("/alerts").text
    assert html.escape(new, quote=False) in shown.replace("&#34;", '"').replace("&#39;", "'")


def test_sign_out_ends_the_session(newsroom: Newsroom) -> None:
    client = signed_in(newsroom)
    page = client.get("/alerts").text
    out = client.post("/logout", data={"csrf": csrf_of(page)}, headers=ORIGIN)
    assert out.status_code == 303
    assert 'action="/alerts/silence"' not in client.get("/alerts").text
