"""The private-network guard: downloads never reach private, loopback, link-local, multicast or
reserved addresses unless `download.allow_private_networks` is true.

It is checked twice: on literal IP hosts before any request (aiohttp skips its resolver for those),
and inside the resolver on every address a name resolves to, so a public name that points at 10.x
is refused too. Redirect targets go through the same checks.
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
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
    )


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
    bare = host.strip("[]")
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
        answers = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for answer in answers:
                if self._forbidden(answer["host"]):
                    raise PrivateAddressError(f"refused {host}: resolves to private address {answer['host']}")
        return answers

    async def close(self) -> None:
        await self._inner.close()
