"""Fetch one feed over HTTP: bounded in time, size and redirects, conditional, classified.

:meth:`Fetcher.fetch` never raises for network or HTTP trouble: it returns a
:class:`FetchResult` whose ``error`` names the :class:`~ingest.kinds.ErrorKind`. A 304, or a
200 whose body hashes the same as last time, comes back with ``not_modified=True``.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx
from httpx._decoders import SUPPORTED_DECODERS

from ingest.deadline import GuardedTransport, deadline
from ingest.kinds import ErrorKind
from ingest.ssrf import AddressGuard, UnsafeURLError, address_guard
from newsmon.config import Settings

log = logging.getLogger(__name__)

USER_AGENT = "newsmon/0.1 (+https://github.com/newsmon)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
PERMANENT_REDIRECTS = frozenset({301, 308})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# What httpx can decode (gzip, deflate; br, zstd when their packages are installed).
ACCEPT_ENCODING = ", ".join(k for k in SUPPORTED_DECODERS if k != "identity")


@dataclass(frozen=True)
class Validators:
    """What we remember of the last good response, to ask for changes only."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one fetch; ``error`` is None on success (including not-modified)."""

    url: str
    final_url: str
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    not_modified: bool = False
    moved_to: str | None = None
    error: ErrorKind | None = None
    detail: str = ""
    retry_after: float | None = None
    body_hash: str | None = None
    http_version: str | None = None  # of the final response: "HTTP/1.1", "HTTP/2"

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def validators(self) -> Validators:
        """Validators to send next time (only meaningful when ``ok``)."""
        return Validators(
            etag=self.headers.get("etag"),
            last_modified=self.headers.get("last-modified"),
            body_hash=self.body_hash,
        )


class _TooLargeError(Exception):
    pass


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def conditional_headers(validators: Validators) -> dict[str, str]:
    headers: dict[str, str] = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def classify_status(status: int) -> ErrorKind | None:
    """The error kind of a final (non-redirect) HTTP status, None for success/304."""
    if 200 <= status < 300 or status == 304:
        return None
    if status == 410:
        return ErrorKind.GONE
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if 400 <= status < 500:
        return ErrorKind.HTTP_4XX
    if status >= 500:
        return ErrorKind.HTTP_5XX
    return ErrorKind.PROTOCOL


def ssl_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """httpx's verifying context (certifi's CAs), plus the CAs in ``ca_bundle`` if given."""
    context = httpx.create_ssl_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context


class Fetcher:
    """Fetches with the limits from :class:`Settings`; one instance (one keep-alive pool)
    serves all threads. ``guard`` checks every address connected to (see
    :func:`ingest.ssrf.address_guard`); the default suits operator-configured feeds:
    anything but link-local / metadata addresses, nothing refused when
    ``allow_private_addresses`` is set."""

    def __init__(
        self,
        settings: Settings,
        *,
        max_redirects: int | None = None,
        guard: AddressGuard | None | Literal["default"] = "default",
        accept: str = ACCEPT,
    ) -> None:
        if guard == "default":
            guard = None if settings.allow_private_addresses else address_guard(strict=False)
        self._timeout = settings.fetch_timeout
        self._max_bytes = settings.max_feed_bytes
        tuning = settings.ingest
        self._max_redirects = tuning.max_redirects if max_redirects is None else max_redirects
        self._transport = GuardedTransport(
            ssl_context(tuning.ca_bundle),
            guard,
            http2=tuning.http2,
            max_connections=max(8, tuning.workers * tuning.host_concurrency),
        )
        self._headers = httpx.Headers(
            {"User-Agent": USER_AGENT, "Accept": accept, "Accept-Encoding": ACCEPT_ENCODING}
        )
        timeout = httpx.Timeout(self._timeout, connect=min(self._timeout, 10.0))
        self._extensions = {"timeout": timeout.as_dict()}

    def close(self) -> None:
        self._transport.close()

    def fetch(self, url: str, validators: Validators, now: datetime) -> FetchResult:
        """GET ``url`` within ``fetch_timeout`` seconds of wall-clock time, all hops included."""
        try:
            with deadline(self._timeout):
                return self._follow(url, validators, now)
        except httpx.TimeoutException as exc:
            return FetchResult(url, url, error=ErrorKind.TIMEOUT, detail=_describe(exc))
        except httpx.DecodingError as exc:
            return FetchResult(url, url, error=ErrorKind.PROTOCOL, detail=_describe(exc))
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            return FetchResult(url, url, error=ErrorKind.CONNECTION, detail=_describe(exc))
        except UnsafeURLError as exc:
            return FetchResult(url, url, error=ErrorKind.BLOCKED, detail=str(exc)[:300])

    def _send(self, url: str, validators: Validators) -> httpx.Response:
        """One GET straight to the transport, response streamed.

        ``httpx.Client.send`` would add cookies, auth and event hooks, none of which a feed
        poller uses, for about as much CPU as the request itself on the 304 path; redirects
        are ours anyway (:meth:`_follow`)."""
        headers = self._headers.copy()
        headers.update(conditional_headers(validators))
        request = httpx.Request("GET", url, headers=headers, extensions=self._extensions)
        response = self._transport.handle_request(request)
        response.request = request
        return response

    def _follow(self, url: str, validators: Validators, now: datetime) -> FetchResult:
        current, moved, permanent = url, None, True
        for _ in range(self._max_redirects + 1):
            response = self._send(current, validators)
            try:
                if not _is_redirect(response):
                    return self._final(url, current, moved, response, validators, now)
                target = _redirect_target(current, response.headers["location"])
            finally:
                response.close()
            if target is None:
                return FetchResult(
                    url,
                    current,
                    response.status_code,
                    error=ErrorKind.BAD_REDIRECT,
                    detail="redirect to an unusable URL",
                )
            permanent = permanent and response.status_code in PERMANENT_REDIRECTS
            moved = target if permanent else moved
            current = target
        return FetchResult(
            url,
            current,
            error=ErrorKind.TOO_MANY_REDIRECTS,
            detail=f"more than {self._max_redirects} redirects",
            moved_to=moved,
        )

    def _final(
        self,
        url: str,
        final_url: str,
        moved: str | None,
        response: httpx.Response,
        validators: Validators,
        now: datetime,
    ) -> FetchResult:
        status, headers = response.status_code, dict(response.headers)
        base = FetchResult(
            url, final_url, status, headers, moved_to=moved, http_version=response.http_version
        )
        error = classify_status(status)
        if error is not None:
            wait = retry_after_seconds(headers.get("retry-after"), now)
            return replace(base, error=error, detail=f"HTTP {status}", retry_after=wait)
        if status == 304:
            response.read()  # no body by definition; reaching its end keeps the connection
            return replace(base, not_modified=True, body_hash=validators.body_hash)
        try:
            body = self._read_body(response)
        except _TooLargeError:
            return replace(
                base, error=ErrorKind.TOO_LARGE, detail=f"body over {self._max_bytes} bytes"
            )
        digest = body_hash(body)
        same = validators.body_hash is not None and digest == validators.body_hash
        return replace(base, body=body, body_hash=digest, not_modified=same)

    def _read_body(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise _TooLargeError
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                raise _TooLargeError
        return bytes(body)


def _redirect_target(current: str, location: str) -> str | None:
    """The absolute http(s) URL a Location header points to, or None if it is unusable."""
    try:
        target = urljoin(current, location.strip())
        parts = urlsplit(target)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return None
    return target if usable else None


def _is_redirect(response: httpx.Response) -> bool:
    return response.status_code in REDIRECTS and "location" in response.headers


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]
