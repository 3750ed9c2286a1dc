"""Who may act on the page, and the browser-side defences of every response.

The page is read-only unless a token is configured (``NEWSMON_WEB_TOKEN`` or ``_FILE``).
Acting (silencing a rule, editing its query) takes a session: the token typed once into the
sign-in form opens one, held in an ``HttpOnly``, ``SameSite=Strict`` cookie signed with a key
that lives only in this process (a restart signs everyone out). Every state-changing request
is a POST that must carry

* the session cookie (valid signature, not expired),
* a CSRF token bound to that session (an HMAC of it, rendered into the form), and
* no foreign ``Origin`` (or ``Referer``): browsers send one with every cross-site POST.

The sign-in form itself is protected the same way with a pre-session cookie. Wrong tokens are
rate-limited per process. Responses carry a strict Content-Security-Policy (no inline script or
style, nothing from another origin), ``nosniff``, no framing and a same-origin referrer.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from urllib.parse import urlsplit

SESSION_COOKIE = "newsmon_session"
LOGIN_COOKIE = "newsmon_login"
SESSION_SECONDS = 12 * 3600
MAX_FAILURES = 10  # wrong tokens per FAILURE_WINDOW before sign-in is refused for a while
FAILURE_WINDOW = 60.0

HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


class Guard:
    """Sessions and CSRF tokens for one server process."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self._key = secrets.token_bytes(32)
        self._failures: deque[float] = deque()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    # -- sign-in ---------------------------------------------------------------------------

    def token_matches(self, given: str, now: float | None = None) -> bool:
        """Constant-time comparison; False without a token, or while rate-limited."""
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._failures and now - self._failures[0] > FAILURE_WINDOW:
                self._failures.popleft()
            if len(self._failures) >= MAX_FAILURES:
                return False
        if not self.token:
            return False
        ok = hmac.compare_digest(given.encode(), self.token.encode())
        if not ok:
            with self._lock:
                self._failures.append(now)
        return ok

    def rate_limited(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = [t for t in self._failures if now - t <= FAILURE_WINDOW]
        return len(recent) >= MAX_FAILURES

    # -- sessions --------------------------------------------------------------------------

    def new_session(self, now: float) -> str:
        body = f"{int(now) + SESSION_SECONDS}.{secrets.token_hex(16)}"
        return f"{body}.{self._sign('session:' + body)}"

    def session_valid(self, cookie: str | None, now: float) -> bool:
        if not self.enabled or not cookie or cookie.count(".") != 2:
            return False
        expiry, nonce, signature = cookie.split(".")
        expected = self._sign(f"session:{expiry}.{nonce}")
        if not hmac.compare_digest(signature, expected):
            return False
        return expiry.isdigit() and int(expiry) > now

    def new_login_nonce(self) -> str:
        return secrets.token_hex(16)

    # -- CSRF ------------------------------------------------------------------------------

    def csrf_token(self, bound_to: str) -> str:
        """The form token for a session (or a sign-in nonce)."""
        return self._sign("csrf:" + bound_to)

    def csrf_valid(self, bound_to: str | None, given: str | None) -> bool:
        if not bound_to or not given:
            return False
        return hmac.compare_digest(given, self.csrf_token(bound_to))


def same_origin(headers: Mapping[str, str], scheme: str) -> bool:
    """No foreign ``Origin`` / ``Referer`` on a state-changing request. A browser always sends
    ``Origin`` with a cross-site POST; a request with neither is not a browser's."""
    host = headers.get("host", "")
    own = f"{scheme}://{host}".lower()
    origin = headers.get("origin")
    if origin is not None:
        return origin.lower() == own
    referer = headers.get("referer")
    if referer is not None:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}".lower() == own
    return True
