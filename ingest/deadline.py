"""The transport under every fetch: a wall-clock deadline, a connect-time address guard and a
shared, keep-alive connection pool (HTTP/2 over TLS when the server offers it).

httpx's timeouts are per operation, so a server that drips one byte a second never trips the
read timeout. Each fetch runs inside :func:`deadline`, which sets a per-thread wall-clock limit;
every connect, read and write then waits at most ``min(timeout, deadline - now)`` and fails with
a timeout once the deadline has passed, whether the drip is in the status line, the headers or
the body. The limit is read per operation, so pooled connections serve any later fetch.

The guard (:func:`ingest.ssrf.address_guard`) resolves the host when a connection is opened and
the transport connects to the checked address itself: every redirect hop is checked and DNS
rebinding cannot swap an address in between check and connect. The lookup itself (guarded or
not) is bounded by the same deadline: a resolver that hangs costs the fetch a timeout, no more.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import queue
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpcore
from httpcore._backends.sync import SyncBackend

from ingest.ssrf import AddressGuard, ResolveError, resolve

Clock = Callable[[], float]  # monotonic seconds

_local = threading.local()


@contextmanager
def deadline(seconds: float, clock: Clock = time.monotonic) -> Iterator[None]:
    """Bound every socket operation of this thread to ``seconds`` of wall-clock time."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = clock() + seconds
    try:
        yield
    finally:
        _local.deadline = previous


def _bounded(timeout: float | None, clock: Clock) -> float | None:
    limit: float | None = getattr(_local, "deadline", None)
    if limit is None:
        return timeout
    left = limit - clock()
    if left <= 0:
        raise httpcore.ReadTimeout("deadline exceeded")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, clock: Clock) -> None:
        self._inner, self._clock = inner, clock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, self._clock))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, self._clock))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _bounded(timeout, self._clock)
        inner = self._inner.start_tls(ssl_context, server_hostname, left)
        return _DeadlineStream(inner, self._clock)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, guard: AddressGuard | None, clock: Clock) -> None:
        self._inner = SyncBackend()
        self._guard, self._clock = guard, clock

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _bounded(timeout, self._clock)
        addresses = self._lookup(host, port, left)
        left = _bounded(timeout, self._clock)
        failure: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(address, port, left, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream, self._clock)
        raise failure

    def _lookup(self, host: str, port: int, limit: float | None) -> Sequence[str]:
        """The guard's (or the resolver's) addresses for ``host``, waited for at most
        ``limit`` seconds. ``getaddrinfo`` takes no timeout, so it runs on its own daemon
        thread; one that outlives the deadline finishes there unobserved (and never holds up
        the process's exit)."""
        check = self._guard or _plain_lookup
        box: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()

        def run() -> None:
            try:
                box.put((True, check(host, port)))
            except Exception as exc:  # handed to the waiting fetch
                box.put((False, exc))

        threading.Thread(target=run, name="ingest-resolve", daemon=True).start()
        try:
            ok, value = box.get(timeout=limit)
        except queue.Empty:
            raise httpcore.ConnectTimeout(f"resolving {host} took over {limit:.1f} s") from None
        if ok:
            return value  # type: ignore[no-any-return]
        if isinstance(value, ResolveError):
            raise httpcore.ConnectError(str(value)) from value
        raise value

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for feeds")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _plain_lookup(host: str, port: int) -> tuple[str, ...]:
    name = host.strip("[]")
    try:
        return (str(ipaddress.ip_address(name)),)
    except ValueError:
        return tuple(resolve(name, port))


def http2_available() -> bool:
    return importlib.util.find_spec("h2") is not None


class _PoolPerOrigin:
    """One :class:`httpcore.ConnectionPool` per origin, made on first use.

    httpcore's pool scans every connection it holds on each request (idle/expired checks, a
    ``poll()`` per idle socket): with 25 hosts x 4 connections that scan cost more CPU than the
    request itself. Politeness keeps a handful of connections per host, so a pool per origin
    keeps the scan to those few."""

    def __init__(self, make: Callable[[], httpcore.ConnectionPool]) -> None:
        self._make = make
        self._pools: dict[tuple[bytes, bytes, int | None], httpcore.ConnectionPool] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        url = request.url
        key = (url.scheme, url.host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            with self._lock:
                pool = self._pools.setdefault(key, self._make())
        return pool.handle_request(request)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def __enter__(self) -> _PoolPerOrigin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class GuardedTransport:
    """Keep-alive connection pools (one per origin) whose sockets obey the calling thread's
    :func:`deadline` and whose connections pass ``guard``; requests and responses are
    httpcore's (the fetcher speaks to the pool directly, see ``ingest.fetch``)."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        guard: AddressGuard | None,
        *,
        http2: bool = False,
        max_connections: int = 64,
        clock: Clock = time.monotonic,
    ) -> None:
        backend = _GuardedBackend(guard, clock)

        def make() -> httpcore.ConnectionPool:
            return httpcore.ConnectionPool(
                ssl_context=ssl_context,
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=30.0,
                http2=http2 and http2_available(),
                network_backend=backend,
            )

        self._pool = _PoolPerOrigin(make)

    def handle(self, request: httpcore.Request) -> httpcore.Response:
        """Send ``request``; the response streams until read to its end or closed."""
        return self._pool.handle_request(request)

    def close(self) -> None:
        self._pool.close()
