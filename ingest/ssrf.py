"""SSRF guard for URLs taken from feed content (e.g. article pages for full-text fetch).

Operator-configured feed URLs are trusted and never checked. A URL found *inside* a feed may
point anywhere, so before fetching it :func:`check_url` resolves its host and refuses any
address that is not globally routable (private, loopback, link-local / cloud metadata,
carrier-grade NAT, multicast, reserved). Connect to one of the returned addresses (not the
name again) so a second DNS answer cannot swap in a private address (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from newsmon.errors import PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

BLOCKED_HOSTNAMES = frozenset({"localhost", "metadata", "metadata.google.internal"})
_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)


class UnsafeURLError(PermanentError):
    """A URL the guard refuses to fetch."""


class ResolveError(UnsafeURLError):
    """The host does not resolve (a connection problem rather than a refusal)."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (TCP)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolveError(f"cannot resolve {host!r}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_link_local(address: IPAddress) -> bool:
    """Link-local or a cloud metadata address (169.254/16, fe80::/10, fd00:ec2::254 ...)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_link_local(address.ipv4_mapped)
    return address.is_link_local or address in _METADATA


def is_public(address: IPAddress) -> bool:
    """True for globally routable unicast addresses only."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    if address in _METADATA or address.is_multicast:
        return False
    return address.is_global


def check_url(
    url: str, allow_private: bool = False, *, resolver: Resolver = resolve
) -> tuple[str, ...]:
    """Raise :class:`UnsafeURLError` unless ``url`` is http(s) and every address its host
    resolves to is public; return those addresses. ``allow_private`` lifts the address check
    (``Settings.allow_private_addresses``) but not the scheme check."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"scheme {parts.scheme!r} not allowed")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeURLError("URL has no host")
    if parts.username or parts.password:
        raise UnsafeURLError("URL carries credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURLError(f"bad port: {exc}") from exc
    if not allow_private and (host in BLOCKED_HOSTNAMES or host.endswith(".localhost")):
        raise UnsafeURLError(f"host {host!r} is internal")
    addresses = _literal(host) or tuple(resolver(host, port))
    if not addresses:
        raise UnsafeURLError(f"{host!r} resolves to no address")
    if not allow_private:
        for text in addresses:
            if not is_public(ipaddress.ip_address(text.split("%", 1)[0])):
                raise UnsafeURLError(f"{host!r} resolves to non-public address {text}")
    return addresses


def _literal(host: str) -> tuple[str, ...]:
    """The host itself when it is an IP literal (``[::1]`` arrives here as ``::1``)."""
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        return ()


AddressGuard = Callable[[str, int], tuple[str, ...]]
"""Called at connect time with (host, port): the addresses to connect to, or UnsafeURLError."""


def address_guard(strict: bool, *, resolver: Resolver = resolve) -> AddressGuard:
    """A connect-time guard (it sees every redirect hop and pins the checked address, so DNS
    rebinding cannot swap one in). ``strict`` (URLs from feed content): only public addresses.
    Not strict (operator-configured feeds and their redirects): anything but link-local and
    cloud metadata addresses, which no feed lives on and every SSRF aims at."""

    def guard(host: str, port: int) -> tuple[str, ...]:
        name = host.strip("[]").rstrip(".").lower()
        if strict and (name in BLOCKED_HOSTNAMES or name.endswith(".localhost")):
            raise UnsafeURLError(f"host {name!r} is internal")
        addresses = _literal(name) or tuple(resolver(name, port))
        if not addresses:
            raise ResolveError(f"{name!r} resolves to no address")
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if is_link_local(address) or (strict and not is_public(address)):
                raise UnsafeURLError(f"{name!r} resolves to refused address {text}")
        return addresses

    return guard
