"""The loopback-only guard that tests and benchmarks switch on (`WUKONG_LOOPBACK_ONLY=1`): with it set,
every crawler (Scrapy's middleware, the archive readers) refuses any host that is not loopback."""

from __future__ import annotations

import ipaddress
import os

LOOPBACK_ENV = "WUKONG_LOOPBACK_ONLY"


def loopback_only() -> bool:
    return os.environ.get(LOOPBACK_ENV, "") not in ("", "0")


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
