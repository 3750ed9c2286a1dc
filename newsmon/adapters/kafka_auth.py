"""One SASL login before the real Kafka clients start, so wrong credentials fail fast.

kafka-python 3.0 treats a rejected SASL login during bootstrap like a connection failure: it
logs, backs off and retries until its bootstrap timeout, then raises ``KafkaTimeoutError``
(retriable). A service would back off forever on a password that can never work. This module
opens one connection per broker (TLS when the protocol says so), sends ``SaslHandshake`` v1 and
``SaslAuthenticate`` v1 frames itself, and lets kafka-python's own mechanism classes compute the
tokens (PLAIN, SCRAM-SHA-256/512). Outcomes:

* the broker rejects the login or the mechanism → :class:`ConfigError` (permanent);
* the TLS certificate cannot be verified → :class:`ConfigError`;
* no broker answers → :class:`TransientError` (the service backs off as for any outage).
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Sequence
from typing import Any

from kafka import errors as kafka_errors
from kafka.net.sasl import get_sasl_mechanism

from newsmon.errors import ConfigError, TransientError
from newsmon.security import KafkaSecurity

_SASL_HANDSHAKE, _SASL_AUTHENTICATE = 17, 36
_CLIENT_ID = b"newsmon-auth-check"


class _Frames:
    """Kafka request/response framing on a connected socket (non-flexible header v1)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock, self._corr = sock, 0

    def call(self, api_key: int, version: int, body: bytes) -> bytes:
        self._corr += 1
        header = struct.pack(">hhih", api_key, version, self._corr, len(_CLIENT_ID)) + _CLIENT_ID
        msg = header + body
        self._sock.sendall(struct.pack(">i", len(msg)) + msg)
        (size,) = struct.unpack(">i", self._recv(4))
        data = self._recv(size)
        if struct.unpack(">i", data[:4])[0] != self._corr:
            raise ConnectionError("correlation id mismatch")
        return data[4:]

    def _recv(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self._sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            buf += chunk
        return buf


def _string(data: bytes, off: int) -> tuple[str | None, int]:
    (n,) = struct.unpack_from(">h", data, off)
    if n < 0:
        return None, off + 2
    return data[off + 2 : off + 2 + n].decode("utf-8", "replace"), off + 2 + n


def _error_name(code: int) -> str:
    return str(kafka_errors.for_code(code).__name__)


def _handshake(frames: _Frames, mechanism: str) -> None:
    name = mechanism.encode()
    data = frames.call(_SASL_HANDSHAKE, 1, struct.pack(">h", len(name)) + name)
    error, count = struct.unpack_from(">hi", data, 0)
    offered, off = [], 6
    for _ in range(max(count, 0)):
        item, off = _string(data, off)
        offered.append(item or "")
    if error != 0:
        raise ConfigError(
            f"kafka refused SASL mechanism {mechanism} ({_error_name(error)}); "
            f"the listener offers {', '.join(offered) or 'none'}: check "
            "NEWSMON_KAFKA_SASL_MECHANISM and NEWSMON_KAFKA_SECURITY_PROTOCOL"
        )


def _authenticate(frames: _Frames, security: KafkaSecurity, host: str) -> None:
    mechanism: Any = get_sasl_mechanism(security.mechanism)(
        host=host, **security.client_options()
    )
    while not mechanism.is_done():
        token: bytes = mechanism.auth_bytes()
        data = frames.call(_SASL_AUTHENTICATE, 1, struct.pack(">i", len(token)) + token)
        (error,) = struct.unpack_from(">h", data, 0)
        message, off = _string(data, 2)
        if error != 0:
            raise ConfigError(
                f"kafka rejected the SASL login of user {security.username!r} "
                f"({security.mechanism}): {message or _error_name(error)}; check "
                "NEWSMON_KAFKA_SASL_USERNAME and NEWSMON_KAFKA_SASL_PASSWORD(_FILE)"
            )
        (size,) = struct.unpack_from(">i", data, off)
        mechanism.receive(data[off + 4 : off + 4 + max(size, 0)])
    if not mechanism.is_authenticated():
        raise ConfigError(f"kafka SASL {security.mechanism} login did not complete")


def _connect(host: str, port: int, security: KafkaSecurity, timeout: float) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    if not security.tls:
        return sock
    context = ssl.create_default_context(cafile=security.cafile)
    context.check_hostname = security.check_hostname
    if security.certfile:
        context.load_cert_chain(security.certfile, security.keyfile)
    return context.wrap_socket(sock, server_hostname=host)


def verify_credentials(
    servers: Sequence[str], security: KafkaSecurity, *, timeout: float = 10.0
) -> None:
    """Log in to the first broker that answers; raise as described in the module doc."""
    problems: list[str] = []
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            with _connect(host.strip("[]"), int(port), security, timeout) as sock:
                frames = _Frames(sock)
                _handshake(frames, security.mechanism)
                _authenticate(frames, security, host)
                return
        except ssl.SSLCertVerificationError as exc:
            raise ConfigError(
                f"kafka TLS certificate of {server} not trusted: {exc.verify_message}; "
                "check NEWSMON_KAFKA_SSL_CAFILE"
            ) from exc
        except (OSError, ConnectionError, struct.error, ValueError) as exc:
            problems.append(f"{server}: {exc}")
    raise TransientError(f"kafka unreachable for the SASL login check: {'; '.join(problems)}")
