"""Fetch one feed over HTTP: bounded in time, size and redirects, conditional, classified.

:meth:`Fetcher.fetch` never raises for network or HTTP trouble: it returns a
:class:`FetchResult` whose ``error`` names the :class:`~ingest.kinds.ErrorKind`. A 304, or a
200 whose body hashes the same as last time, comes back with ``not_modified=True``.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from httpx._decoders import SUPPORTED_DECODERS, ContentDecoder, IdentityDecoder, MultiDecoder

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
        self._headers = (
            (b"User-Agent", USER_AGENT.encode()),
            (b"Accept", accept.encode()),
            (b"Accept-Encoding", ACCEPT_ENCODING.encode()),
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
        except (httpcore.TimeoutException, httpx.TimeoutException) as exc:
            return FetchResult(url, url, error=ErrorKind.TIMEOUT, detail=_describe(exc))
        except httpx.DecodingError as exc:
            return FetchResult(url, url, error=ErrorKind.PROTOCOL, detail=_describe(exc))
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            return FetchResult(url, url, error=ErrorKind.CONNECTION, detail=_describe(exc))
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            return FetchResult(url, url, error=ErrorKind.CONNECTION, detail=_describe(exc))
        except UnsafeURLError as exc:
            return FetchResult(url, url, error=ErrorKind.BLOCKED, detail=str(exc)[:300])

    def _send(self, url: str, validators: Validators) -> _Response:
        """One GET on httpcore, httpx's own transport layer, response streamed.

        ``httpx.Client.send`` would add cookies, auth and event hooks, none of which a feed
        poller uses, and httpx's Request/Response models and transport adapter cost as much
        CPU again as the HTTP exchange itself on the 304 path (a poller's most common answer):
        the URL is parsed by httpx (once per URL, cached), the request goes straight to the
        connection pool, and the body is decoded with httpx's own content decoders."""
        target = _target(url)
        headers = [(b"Host", target.netloc), *self._headers]
        for name, value in conditional_headers(validators).items():
            headers.append((name.encode(), value.encode("latin-1", "replace")))
        request = httpcore.Request(b"GET", target.url, headers=headers, extensions=self._extensions)
        return _Response(self._transport.handle(request))

    def _follow(self, url: str, validators: Validators, now: datetime) -> FetchResult:
        current, moved, permanent = url, None, True
        for _ in range(self._max_redirects + 1):
            response = self._send(current, validators)
            try:
                location = response.headers.get("location")
                if response.status not in REDIRECTS or location is None:
                    return self._final(url, current, moved, response, validators, now)
                target = _redirect_target(current, location)
            finally:
                response.close()
            if target is None:
                return FetchResult(
                    url,
                    current,
                    response.status,
                    error=ErrorKind.BAD_REDIRECT,
                    detail="redirect to an unusable URL",
                )
            permanent = permanent and response.status in PERMANENT_REDIRECTS
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
        response: _Response,
        validators: Validators,
        now: datetime,
    ) -> FetchResult:
        status, headers = response.status, response.headers
        result = partial(
            FetchResult, url, final_url, status, headers,
            moved_to=moved, http_version=response.http_version,
        )  # fmt: skip
        error = classify_status(status)
        if error is not None:
            wait = retry_after_seconds(headers.get("retry-after"), now)
            head = _read_head(response, ERROR_BODY_BYTES)  # an anti-bot page says who blocks
            return result(error=error, detail=f"HTTP {status}", retry_after=wait, body=head)
        if status == 304:
            response.drain()  # no body by definition; reaching its end keeps the connection
            return result(not_modified=True, body_hash=validators.body_hash)
        try:
            body = self._read_body(response)
        except _TooLargeError:
            return result(error=ErrorKind.TOO_LARGE, detail=f"body over {self._max_bytes} bytes")
        digest = body_hash(body)
        same = validators.body_hash is not None and digest == validators.body_hash
        return result(body=body, not_modified=same, body_hash=digest)

    def _read_body(self, response: _Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise _TooLargeError
        body = bytearray()
        for chunk in response.iter_decoded():
            body += chunk
            if len(body) > self._max_bytes:  # decoded size: a gzip bomb stops here too
                raise _TooLargeError
        return bytes(body)


ERROR_BODY_BYTES = 64 * 1024  # read of an error answer's body (ingest.health sniffs it)


def _read_head(response: _Response, limit: int) -> bytes:
    """Up to ``limit`` decoded bytes of the body; whatever arrived if the stream fails."""
    head = bytearray()
    try:
        for chunk in response.iter_decoded():
            head += chunk
            if len(head) >= limit:
                break
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
            httpx.DecodingError):
        pass
    return bytes(head[:limit])


class _Response:
    """An httpcore response as the fetcher reads it: status, headers as a dict with lower-case
    names (repeated fields joined by ", ", as ``dict(httpx.Headers)`` gives them), the HTTP
    version, and the body decoded as its ``Content-Encoding`` says (httpx's decoders)."""

    __slots__ = ("_inner", "status", "headers", "http_version")

    def __init__(self, inner: httpcore.Response) -> None:
        self._inner = inner
        self.status = inner.status
        headers: dict[str, str] = {}
        for raw_name, raw_value in inner.headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers
        version = inner.extensions.get("http_version", b"HTTP/1.1")
        self.http_version = version.decode("ascii", "replace")

    def iter_decoded(self) -> Iterator[bytes]:
        decoder = _decoder(self.headers.get("content-encoding", ""))
        for chunk in self._inner.iter_stream():
            decoded = decoder.decode(chunk)
            if decoded:
                yield decoded
        tail = decoder.flush()
        if tail:
            yield tail

    def drain(self) -> None:
        for _ in self._inner.iter_stream():
            pass

    def close(self) -> None:
        self._inner.close()


def _decoder(content_encoding: str) -> ContentDecoder:
    """httpx's decoder for a ``Content-Encoding`` value (unknown codings are left alone, as
    httpx does); several codings are undone in reverse order."""
    names = [n.strip().lower() for n in content_encoding.split(",")]
    decoders = [SUPPORTED_DECODERS[n]() for n in names if n in SUPPORTED_DECODERS]
    if not decoders:
        return IdentityDecoder()
    return decoders[0] if len(decoders) == 1 else MultiDecoder(decoders)


@dataclass(frozen=True)
class _Target:
    url: httpcore.URL
    netloc: bytes


@lru_cache(maxsize=8192)
def _target(url: str) -> _Target:
    """``url`` parsed and checked by httpx (immutable, so shared by every thread): a poller
    asks for the same few thousand URLs every round, and parsing one costs as much as a
    third of a 304 fetch. Raises httpx.InvalidURL, or UnsupportedProtocol for non-HTTP(S)."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise httpcore.UnsupportedProtocol(f"not an http(s) URL with a host: {url[:200]!r}")
    target = httpcore.URL(
        scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path
    )
    return _Target(target, parsed.netloc)


def _redirect_target(current: str, location: str) -> str | None:
    """The absolute http(s) URL a Location header points to, or None if it is unusable."""
    try:
        target = urljoin(current, location.strip())
        parts = urlsplit(target)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return None
    return target if usable else None


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]
