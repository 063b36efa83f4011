"""The private-network guard: downloads never reach private, loopback, link-local, multicast or
reserved addresses unless `download.allow_private_networks` is true.

It is checked twice: on literal IP hosts before any request (aiohttp skips its resolver for those),
and inside the resolver on every address a name resolves to, so a public name that points at 10.x
is refused too. Redirect targets go through the same checks. Only global unicast addresses pass:
shared address space (100.64.0.0/10, where Alibaba Cloud's metadata service lives) and IPv6 forms that
embed an IPv4 address (mapped, 6to4, Teredo, NAT64) are judged by that IPv4 address. Names under the
special-use `.invalid` domain (RFC 6761) fail as DNS errors without any lookup.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

from aiohttp.abc import AbstractResolver


class PrivateAddressError(OSError):
    """Raised when a URL's host is, or resolves to, an address the guard refuses."""


def is_forbidden_ip(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(addr)
        if embedded is not None:
            addr = embedded
    return (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or not addr.is_global
        or (isinstance(addr, ipaddress.IPv6Address) and addr.is_site_local)
    )


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo client, NAT64), if any."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def never_resolves(host: str) -> bool:
    """True for names under `.invalid` (RFC 6761: resolvers must answer NXDOMAIN; we do not ask)."""
    name = host.strip("[]").rstrip(".").lower()
    return name == "invalid" or name.endswith(".invalid")


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def check_host(host: str, allow_private: bool, forbidden: Callable[[str], bool] = is_forbidden_ip) -> None:
    """Refuses a literal IP host that the guard forbids (names are checked at resolution)."""
    if allow_private:
        return
    bare = host.strip("[]").rstrip(".")
    if is_ip_literal(bare) and forbidden(bare):
        raise PrivateAddressError(f"refused private address {bare}")
    if bare.lower() == "localhost" or bare.lower().endswith(".localhost"):
        raise PrivateAddressError(f"refused private host {bare}")


class GuardedResolver(AbstractResolver):
    """Wraps a resolver and drops the whole answer if any address is forbidden."""

    def __init__(self, inner: AbstractResolver, allow_private: bool,
                 forbidden: Callable[[str], bool] = is_forbidden_ip) -> None:
        self._inner = inner
        self._allow_private = allow_private
        self._forbidden = forbidden

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        if never_resolves(host):
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: a .invalid name never resolves (RFC 6761)")
        answers = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for answer in answers:
                if self._forbidden(answer["host"]):
                    raise PrivateAddressError(f"refused {host}: resolves to private address {answer['host']}")
        return answers

    async def close(self) -> None:
        await self._inner.close()
