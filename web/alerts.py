"""The alerts page: the rules, what they fired on and why, silences; and the page's actions.

Read from where the alert services read: rules from the rules file (``NEWSMON_RULES``), the
firings and silences from the store's alert ledger (``kind`` alert, spike or health /
silence). A firing shows the terms the rule matched (``matched``, recorded when it fired) and
the text it carried (``fragments``: sentences with the matched terms marked); for an entry from
before alerts carried fragments, the stored article's text marked as ``newsmon search`` marks
its hits. Actions — silence, lift a silence, edit a rule's query — are POSTs that pass
:func:`web.actions.authorized` first.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from newsmon.config import RuleConfig, parse_duration
from newsmon.errors import ConfigError
from newsmon.rulesfile import set_query
from newsmon.silences import in_force, silence, unsilence
from newsmon.store import ArticleStore, mark_terms
from web.actions import authorized, forbidden
from web.context import Page
from web.queries import Problem, check, field_is
from web.views import parse_time

FIRINGS_SHOWN = 50
#: Ledger entries that are a rule firing (a story matched, a count spiked, a feed's health
#: changed); digests bundle ``alert`` entries already shown, leases and silences are not sent.
FIRING_KINDS = frozenset({"alert", "spike", "health"})
SILENCE_CHOICES = ("1h", "4h", "1d", "1w")
NOTICES = {
    "silenced": "Rule {rule} is silenced: no worker sends for it until the time shown.",
    "unsilenced": "Rule {rule} sends again.",
    "query": "Rule {rule}: query saved to the rules file. Alert workers load it when they restart.",
}


def alerts_page(
    request: Request, edit_problem: Problem | None = None, edit_rule: str = ""
) -> Response:
    page = Page(request, "alerts")
    rules: list[RuleConfig] = page.config("rules file", page.wb.rules, [])
    nothing: list[dict[str, Any]] = []
    ledger = page.attempt("alert ledger", lambda s: s.alerts(), nothing)
    firings = sorted(
        (e for e in ledger if e.get("kind") in FIRING_KINDS),
        key=lambda e: str(e.get("created", "")),
        reverse=True,
    )
    silences = {
        str(e.get("rule")): e
        for e in ledger
        if e.get("kind") == "silence" and _in_force(e, page.now)
    }
    counts = Counter((str(e.get("rule")), str(e.get("status"))) for e in firings)
    last = {}
    for entry in reversed(firings):
        last[str(entry.get("rule"))] = entry
    notice = NOTICES.get(request.query_params.get("done", ""))
    return page.render(
        "alerts.html",
        status=400 if edit_problem else 200,
        rules=[_rule_row(r, counts, silences.get(r.name), last.get(r.name)) for r in rules],
        orphans=sorted({r for r, _ in counts} - {r.name for r in rules}),
        firings=_firings(page, firings[:FIRINGS_SHOWN]),
        firing_total=len(firings),
        rules_file=str(page.wb.settings.rules) if page.wb.settings.rules else None,
        notice=notice.format(rule=request.query_params.get("rule", "")) if notice else None,
        edit_problem=edit_problem,
        edit_rule=edit_rule,
        silence_choices=SILENCE_CHOICES,
    )


def _in_force(entry: dict[str, Any], now: datetime) -> bool:
    try:
        return in_force(entry, now)
    except (KeyError, ValueError):
        return False


def _rule_row(
    rule: RuleConfig, counts: Counter[tuple[str, str]], silenced: Any, last: Any
) -> dict[str, Any]:
    return {
        "rule": rule,
        "channels": [c.label for c in rule.channels],
        "counts": sorted((s, n) for (r, s), n in counts.items() if r == rule.name),
        "silence": silenced,
        "silenced_until": parse_time(silenced.get("until")) if silenced else None,
        "last": parse_time(last.get("created")) if last else None,
    }


def sent_fragments(entry: dict[str, Any]) -> dict[str, list[str]]:
    """The matched text the alert itself carried (``fragments``: the title and sentences
    around the matched terms, marked ``<em>``), as highlight lists; empty for older entries."""
    found = entry.get("fragments")
    if not isinstance(found, dict):
        return {}
    title, text = found.get("title"), found.get("text")
    marks: dict[str, list[str]] = {}
    if isinstance(title, str) and "<em>" in title:
        marks["title"] = [title]
    if isinstance(text, list) and text:
        marks["text"] = [str(t) for t in text]
    return marks


def _firings(page: Page, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries with the matched text: what the alert carried, else the stored article's
    text marked where the rule matched (entries from before alerts carried fragments)."""
    ids = [str(e["article_id"]) for e in entries if e.get("article_id") and not sent_fragments(e)]
    docs: dict[str, dict[str, Any]] = {}
    if ids:
        query = " OR ".join(field_is("article_id", i) for i in dict.fromkeys(ids))

        def fetch(store: ArticleStore) -> dict[str, dict[str, Any]]:
            hits = store.search(query, limit=len(ids)).hits
            return {str(h.get("article_id")): h for h in hits}

        docs = page.attempt("alerted articles", fetch, {})
    out = []
    for entry in entries:
        doc = docs.get(str(entry.get("article_id")))
        matched = [str(m) for m in entry.get("matched") or []]
        marks = sent_fragments(entry) or (mark_terms(doc, matched) if doc else {})
        out.append(
            {
                "entry": entry,
                "created": parse_time(entry.get("created")),
                "matched": matched,
                "marks": marks,
            }
        )
    return out


async def silence_action(request: Request) -> Response:
    form = await request.form()
    denied = authorized(request, form)
    if denied is not None:
        return denied
    return await _run(request, _silence, dict(form))


async def unsilence_action(request: Request) -> Response:
    form = await request.form()
    denied = authorized(request, form)
    if denied is not None:
        return denied
    return await _run(request, _unsilence, dict(form))


async def query_action(request: Request) -> Response:
    form = await request.form()
    denied = authorized(request, form)
    if denied is not None:
        return denied
    return await _run(request, _edit_query, dict(form))


async def _run(request: Request, action: Any, form: dict[str, Any]) -> Response:
    result: Response = await request.app.state.workbench.run(action, request, form)
    return result


def _known_rule(page: Page, name: str) -> bool:
    none: list[RuleConfig] = []
    rules = page.config("rules file", page.wb.rules, none)
    return any(r.name == name for r in rules)


def _silence(request: Request, form: dict[str, Any]) -> Response:
    page = Page(request, "alerts")
    rule = str(form.get("rule", ""))
    if not _known_rule(page, rule):
        return forbidden(request, f"no rule named {rule!r} in the rules file", 400)
    try:
        until = page.now + parse_duration(str(form.get("duration", "1h")))
    except ValueError as exc:
        return forbidden(request, f"silence duration: {exc}", 400)
    reason = str(form.get("reason", ""))[:500]

    def act(store: ArticleStore) -> bool:
        silence(store, rule, until, reason, page.now)
        return True

    done = page.attempt("silence", act, None)
    if done is None:
        return page.render("message.html", status=503, title="Not silenced")
    return _back("silenced", rule)


def _unsilence(request: Request, form: dict[str, Any]) -> Response:
    page = Page(request, "alerts")
    rule = str(form.get("rule", ""))

    def act(store: ArticleStore) -> bool:
        unsilence(store, rule, page.now)
        return True

    done = page.attempt("unsilence", act, None)
    if done is None:
        return page.render("message.html", status=503, title="Silence not lifted")
    return _back("unsilenced", rule)


def _edit_query(request: Request, form: dict[str, Any]) -> Response:
    page = Page(request, "alerts")
    rule, query = str(form.get("rule", "")), str(form.get("query", ""))
    path = page.wb.settings.rules
    if path is None:
        return forbidden(request, "no rules file is configured (NEWSMON_RULES)", 400)
    if not _known_rule(page, rule):
        return forbidden(request, f"no rule named {rule!r} in the rules file", 400)
    problem = check(query) if query.strip() else Problem("a rule's query cannot be empty", query)
    if problem is not None:
        return alerts_page(request, edit_problem=problem, edit_rule=rule)
    try:
        set_query(path, rule, query)
    except ConfigError as exc:
        return alerts_page(request, edit_problem=Problem(str(exc), query), edit_rule=rule)
    return _back("query", rule)


def _back(done: str, rule: str) -> Response:
    from urllib.parse import urlencode

    return RedirectResponse(f"/alerts?{urlencode({'done': done, 'rule': rule})}", status_code=303)
