"""A wall-clock deadline under httpx: every socket operation gets at most the time left.

httpx's timeouts are per operation, so a server that drips one byte a second never trips the
read timeout. :class:`DeadlineTransport` wraps httpcore's socket backend so that each connect,
read and write waits at most ``min(timeout, deadline - now)`` and fails with a timeout once the
deadline has passed, whether the drip is in the status line, the headers or the body.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx
from httpcore._backends.sync import SyncBackend

Clock = Callable[[], float]  # monotonic seconds


def _bounded(timeout: float | None, deadline: float, clock: Clock) -> float:
    left = deadline - clock()
    if left <= 0:
        raise httpcore.ReadTimeout("deadline exceeded")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: float, clock: Clock) -> None:
        self._inner, self._deadline, self._clock = inner, deadline, clock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, self._deadline, self._clock))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, self._deadline, self._clock))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _bounded(timeout, self._deadline, self._clock)
        inner = self._inner.start_tls(ssl_context, server_hostname, left)
        return _DeadlineStream(inner, self._deadline, self._clock)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: float, clock: Clock) -> None:
        self._inner = SyncBackend()
        self._deadline, self._clock = deadline, clock

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _bounded(timeout, self._deadline, self._clock)
        stream = self._inner.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline, self._clock)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for feeds")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """An httpx transport whose connections all share one wall-clock deadline (monotonic)."""

    def __init__(
        self, deadline: float, ssl_context: ssl.SSLContext, clock: Clock = time.monotonic
    ) -> None:
        # Deliberately not calling super().__init__: we only replace the pool it would build.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=4,
            network_backend=_DeadlineBackend(deadline, clock),
        )
