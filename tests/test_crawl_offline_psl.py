"""Scrapy's cookie middleware must never download the public suffix list (tldextract's default): a
crawl process splits domains with the list bundled in the tldextract wheel, without a single
connection or DNS lookup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = r"""
import socket, sys
asked = []
def refuse(*args, **kwargs):
    asked.append(args[:2])
    raise OSError("network used")
socket.getaddrinfo = refuse
socket.create_connection = refuse
import crawler.runner  # what a crawl child process imports first
import scrapy.downloadermiddlewares.cookies as cookies
parts = cookies._split_domain("shop.example.com.cn")
print(parts.registered_domain, cookies._is_public_domain("com.cn"), cookies._is_public_domain("example.com.cn"),
      len(asked))
"""


def test_a_crawl_process_splits_domains_without_the_network(tmp_path: Path) -> None:
    env = {"PATH": "", "HOME": str(tmp_path), "TLDEXTRACT_CACHE": str(tmp_path / "tld-cache"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}  # an empty cache: nothing fetched earlier helps
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["example.com.cn", "True", "False", "0"]
    assert "publicsuffix" not in done.stderr
