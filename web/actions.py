"""Signing in and out, and the check every action passes (see :mod:`web.security`)."""

from __future__ import annotations

import time
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from web.context import Page
from web.security import LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECONDS, same_origin


def forbidden(request: Request, reason: str, status: int = 403) -> HTMLResponse:
    page = Page(request, "alerts")
    return page.render("message.html", status=status, title="Not done", message=reason)


def authorized(request: Request, form: FormData | dict[str, Any]) -> Response | None:
    """None when the request may act; else the response that refuses it."""
    guard = request.app.state.workbench.guard
    if not guard.enabled:
        return forbidden(
            request,
            "This page is read-only: actions need NEWSMON_WEB_TOKEN "
            "(or NEWSMON_WEB_TOKEN_FILE) set where `newsmon web` runs.",
        )
    if not same_origin(request.headers, request.url.scheme):
        return forbidden(request, "The request came from another site (Origin); refused.")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not guard.session_valid(cookie, time.time()):
        return forbidden(
            request, "Sign in with the token first (your session may have ended).", 401
        )
    if not guard.csrf_valid(cookie, str(form.get("csrf", ""))):
        return forbidden(
            request,
            "The form was stale or not this page's (CSRF token); reload the page and try again.",
        )
    return None


def login_page(request: Request) -> Response:
    page = Page(request, "login")
    guard = page.wb.guard
    nonce = request.cookies.get(LOGIN_COOKIE) or guard.new_login_nonce()
    response = page.render(
        "login.html",
        login_csrf=guard.csrf_token(nonce),
        next=_next(request.query_params.get("next")),
    )
    _cookie(response, LOGIN_COOKIE, nonce, 3600)
    return response


async def login_action(request: Request) -> Response:
    form = await request.form()
    guard = request.app.state.workbench.guard
    page = Page(request, "login")
    nonce = request.cookies.get(LOGIN_COOKIE)
    target = _next(str(form.get("next", "")))
    if not guard.enabled:
        return forbidden(request, "No token is configured: the page is read-only.")
    if not same_origin(request.headers, request.url.scheme) or not guard.csrf_valid(
        nonce, str(form.get("csrf", ""))
    ):
        return forbidden(request, "The sign-in form was stale or not this page's; reload it.")
    if guard.rate_limited() or not guard.token_matches(str(form.get("token", ""))):
        again = page.render(
            "login.html",
            status=401,
            login_csrf=guard.csrf_token(nonce or ""),
            next=target,
            failed=True,
            limited=guard.rate_limited(),
        )
        return again
    response = RedirectResponse(target, status_code=303)
    _cookie(response, SESSION_COOKIE, guard.new_session(time.time()), SESSION_SECONDS)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


async def logout_action(request: Request) -> Response:
    form = await request.form()
    guard = request.app.state.workbench.guard
    if not same_origin(request.headers, request.url.scheme) or not guard.csrf_valid(
        request.cookies.get(SESSION_COOKIE), str(form.get("csrf", ""))
    ):
        return forbidden(request, "The form was stale; reload the page.")
    response = RedirectResponse("/alerts", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _cookie(response: Response, name: str, value: str, seconds: int) -> None:
    response.set_cookie(name, value, max_age=seconds, path="/", httponly=True, samesite="strict")


def _next(value: str | None) -> str:
    """Only a local path (no open redirect to another site)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/alerts"
