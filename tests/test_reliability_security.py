"""Issue 6, security: the private-network guard (every address family and spelling, after DNS and
after redirects), file names built only from keys, no shell anywhere in the source tree, and no entity
expansion when the site spider parses a billion-laughs page. Loopback only: the guard tests use
injected resolvers and a connector that fails the test if it is ever asked to connect."""

from __future__ import annotations

import ast
import json
import os
import re
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver
from loopback import OnlyLoopbackConnector, serve_app

from filters.download import Downloader
from filters.netguard import PrivateAddressError, check_host, is_forbidden_ip, never_resolves
from filters.url import UrlFilter
from manifests.config import Config, DownloadConfig, load_config
from sharding.release import build_release
from sharding.synthetic import make_rows, write_filtered

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "demo.yaml"

FORBIDDEN = [
    "10.0.0.1", "172.16.5.4", "192.168.1.1",          # RFC 1918
    "127.0.0.1", "127.255.255.254", "::1",            # loopback
    "169.254.169.254", "fe80::1", "fe80::1%eth0",     # link-local (cloud metadata at 169.254.169.254)
    "224.0.0.1", "239.255.255.250", "ff02::1", "ff05::1:3",  # multicast
    "0.0.0.0", "::", "255.255.255.255",               # unspecified, broadcast
    "100.64.0.1", "100.100.100.200",                  # shared address space (Alibaba Cloud metadata)
    "198.18.0.1", "192.0.2.10", "240.0.0.1",          # benchmarking, documentation, reserved
    "fc00::1", "fd12:3456::1", "fec0::1",             # unique-local, site-local
    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
    "2002:a00:1::1",                                  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",           # Teredo client 10.0.0.1
    "64:ff9b::a00:1",                                 # NAT64 of 10.0.0.1
]
PUBLIC = ["8.8.8.8", "223.5.5.5", "180.101.50.188", "2400:3200::1", "2606:4700:4700::1111", "::ffff:8.8.8.8",
          "2002:808:808::1", "64:ff9b::808:808"]


@pytest.mark.parametrize("ip", FORBIDDEN)
def test_guard_forbids(ip: str) -> None:
    assert is_forbidden_ip(ip)


@pytest.mark.parametrize("ip", PUBLIC)
def test_guard_allows_public(ip: str) -> None:
    assert not is_forbidden_ip(ip)


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "[fe80::1]", "[::ffff:10.0.0.1]", "224.0.0.251", "localhost",
                                  "LOCALHOST.", "img.localhost", "127.0.0.1.", "[ff02::1]"])
def test_check_host_refuses_literals_and_localhost(host: str) -> None:
    with pytest.raises(PrivateAddressError):
        check_host(host, allow_private=False)
    check_host(host, allow_private=True)  # allowed explicitly: no error


def test_invalid_names_are_never_resolved() -> None:
    assert never_resolves("x.invalid") and never_resolves("INVALID.") and never_resolves("a.b.invalid.")
    assert not never_resolves("invalid.example.com") and not never_resolves("example.com")


class NumericOnly(AbstractResolver):
    """Resolves what `inet_aton` and `inet_pton` read (127.1, 2130706433, 0x7f.1, ::1), as getaddrinfo
    does for numeric hosts, and nothing else: no name ever leaves the machine."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        try:
            ip, fam = socket.inet_ntoa(socket.inet_aton(host)), socket.AF_INET
        except OSError:
            try:
                ip, fam = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, host)), socket.AF_INET6
            except OSError:
                raise socket.gaierror(socket.EAI_NONAME, f"{host}: not numeric") from None
        return [{"hostname": host, "host": ip, "port": port, "family": fam, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        return None


class Mapped(AbstractResolver):
    """Resolves every name to the addresses given (a hostile DNS answer)."""

    def __init__(self, *ips: str) -> None:
        self.ips = ips

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        return [{"hostname": host, "host": ip, "port": port, "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST} for ip in self.ips]

    async def close(self) -> None:
        return None


class NeverConnects(aiohttp.TCPConnector):
    attempts: ClassVar[list[str]] = []

    async def _wrap_create_connection(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        NeverConnects.attempts.append(repr(kwargs.get("addr_infos") or args))
        pytest.fail("the guard let a connection through")


def fetch_guarded(urls: list[str], resolver: AbstractResolver) -> list[Any]:
    cfg = DownloadConfig(allow_private_networks=False, connect_timeout=1.0, read_timeout=1.0, retries=1, backoff=0.01)
    dl = Downloader(cfg, resolver=resolver, connector_cls=NeverConnects)
    try:
        return dl.fetch_many(urls)
    finally:
        dl.close()


SPELLINGS = ["http://127.0.0.1/a.jpg", "http://127.1/a.jpg", "http://2130706433/a.jpg", "http://0x7f.1/a.jpg",
             "http://0177.0.0.1/a.jpg", "http://[::1]/a.jpg", "http://[::ffff:127.0.0.1]/a.jpg",
             "http://[::ffff:7f00:1]/a.jpg", "http://[fe80::1]/a.jpg", "http://[ff02::1]/a.jpg",
             "http://localhost./a.jpg", "http://169.254.169.254/latest/meta-data/",
             "http://100.100.100.200/latest/meta-data/", "http://224.0.0.251/a.jpg", "http://0.0.0.0/a.jpg",
             "http://10.1.2.3:8080/a.jpg", "http://[::ffff:a00:1]/a.jpg", "http://[2002:a00:1::1]/a.jpg"]


def test_every_spelling_of_a_private_address_is_refused_without_connecting() -> None:
    results = dict(zip(SPELLINGS, fetch_guarded(SPELLINGS, NumericOnly()), strict=True))
    # aiohttp itself refuses non-canonical IPv4 spellings as invalid URLs, before any lookup
    non_canonical = {"http://127.1/a.jpg", "http://2130706433/a.jpg", "http://0177.0.0.1/a.jpg"}
    assert {u: r.reason for u, r in results.items()} == {
        u: "invalid_url" if u in non_canonical else "private_address" for u in SPELLINGS}
    assert all(r.attempts == 1 for r in results.values())  # refusals are final, never retried
    assert NeverConnects.attempts == []


@pytest.mark.parametrize("answer", [("fe80::1",), ("ff02::1",), ("::1",), ("::ffff:10.0.0.1",), ("100.100.100.200",),
                                    ("224.0.0.251",), ("8.8.8.8", "10.0.0.1")])
def test_a_name_resolving_to_any_private_address_is_refused(answer: tuple[str, ...]) -> None:
    (res,) = fetch_guarded(["http://cdn.example-images.test/a.jpg"], Mapped(*answer))
    assert res.reason == "private_address" and answer[-1].split("%")[0] in (res.detail or "")
    assert NeverConnects.attempts == []


@pytest.fixture(scope="module")
def redirector() -> Iterator[str]:
    """Redirects to private targets in every spelling (the loopback server itself is reachable only
    because the test's guard forbids 10.x alone)."""
    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    app = web.Application()
    app.router.add_get("/hop", hop)
    with serve_app(app) as base:
        yield base


@pytest.mark.parametrize("target", ["http://10.0.0.1/x.jpg", "http://[::ffff:10.0.0.1]/x.jpg",
                                    "http://0xa.1/x.jpg", "http://rebind.example-images.test/x.jpg"])
def test_every_redirect_hop_is_checked(redirector: str, target: str) -> None:
    class LoopbackOrTen(AbstractResolver):
        async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
            ip = "127.0.0.1" if host == "127.0.0.1" else "10.9.9.9" if host.endswith(".test") else \
                socket.inet_ntoa(socket.inet_aton(host))
            return [{"hostname": host, "host": ip, "port": port, "family": socket.AF_INET, "proto": 0,
                     "flags": socket.AI_NUMERICHOST}]

        async def close(self) -> None:
            return None

    cfg = DownloadConfig(allow_private_networks=False, connect_timeout=1.0, read_timeout=1.0, retries=0)
    dl = Downloader(cfg, resolver=LoopbackOrTen(), connector_cls=OnlyLoopbackConnector,
                    forbidden=lambda ip: is_forbidden_ip(ip) and not ip.startswith("127."))
    try:
        (res,) = dl.fetch_many([f"{redirector}/hop?to={target}"])
    finally:
        dl.close()
    assert res.reason == "private_address", (res.reason, res.detail)


# --- names on disk come from keys only -----------------------------------------------------------

HOSTILE = ["../../../etc/passwd", "/etc/shadow", "a/../../b", "..\\..\\win.ini", "x\x00y", "~/.ssh/id_rsa",
           "$(rm -rf /)", "`id`", "; touch /tmp/pwned", "| cat /etc/passwd", "名字/../../逃逸", "CON", "a" * 300]


def test_keys_from_hostile_urls_are_digits_only() -> None:
    urls = [f"http://127.0.0.1/{h}" for h in HOSTILE] + [f"http://127.0.0.1/img.jpg?n={h}" for h in HOSTILE]
    table, _ = UrlFilter(Config())(pa.table({"url": pa.array(urls, pa.string())}))
    keys = [k for k in table.column("key").to_pylist() if k is not None]
    assert keys and all(re.fullmatch(r"[0-9]{20}", k) for k in keys)


def test_release_names_come_from_keys_whatever_the_row_says(tmp_path: Path, ray_local: None) -> None:
    rows = make_rows(len(HOSTILE), "http://127.0.0.1:9/img", seed=5)
    for row, bad in zip(rows, HOSTILE, strict=True):
        row["url"] = f"http://127.0.0.1:9/{bad}"
        row["caption"] = f"{bad} 的图片"
        row["page_url"] = bad
        row["query"] = bad
        row["source"] = bad
    write_filtered(rows, tmp_path / "filtered", parts=2)
    cfg = Config()
    cfg.shard.samples_per_shard = 5
    build_release(tmp_path / "filtered", tmp_path / "release", cfg, progress=False)
    names = sorted(p.relative_to(tmp_path / "release").as_posix() for p in (tmp_path / "release").rglob("*"))
    allowed = re.compile(r"(shards|manifests)|shards/\d{5}(\.tar|\.parquet|_stats\.json)|manifests/part-\d{5}\.parquet"
                         r"|README\.md|SHA256SUMS|\.lock")
    assert all(allowed.fullmatch(n) for n in names), names
    members = []
    for tar in sorted((tmp_path / "release" / "shards").glob("*.tar")):
        with tarfile.open(tar) as tf:
            members += tf.getnames()
    assert len(members) == 3 * len(rows)
    assert all(re.fullmatch(r"[0-9]{1,64}\.(jpg|png|gif|webp|bmp|json|txt)", m) for m in members), members
    assert not list(tmp_path.glob("**/passwd")) and not Path("/tmp/pwned").exists()


# --- no shell -----------------------------------------------------------------------------------

SOURCE_DIRS = ("crawler", "filters", "manifests", "sharding", "wukong", "bench", "tests")
_SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput"}


def shell_uses(source: str, filename: str) -> list[str]:
    """Every call in `source` that could run a shell: os.system, os.popen, pty.spawn, any subprocess
    call with shell=True or a string command, asyncio.create_subprocess_shell."""
    found = []
    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        where = f"{filename}:{node.lineno}"
        if any(k.arg == "shell" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
               for k in node.keywords):
            found.append(f"{where} shell=")
        if (owner, name) in {("os", "system"), ("os", "popen"), ("asyncio", "create_subprocess_shell"),
                             ("pty", "spawn"), ("commands", "getoutput")} or name == "create_subprocess_shell":
            found.append(f"{where} {owner}.{name}")
        if owner == "subprocess" and name in _SUBPROCESS_CALLS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant | ast.JoinedStr | ast.BinOp) or name in ("getoutput", "getstatusoutput"):
                found.append(f"{where} subprocess.{name} with a string")
    return found


def test_no_shell_is_ever_invoked_anywhere_in_the_source_tree() -> None:
    files = [p for d in SOURCE_DIRS for p in (REPO / d).rglob("*.py")]
    assert len(files) > 50
    found = [f for p in files for f in shell_uses(p.read_text(encoding="utf-8"), str(p.relative_to(REPO)))]
    assert found == [], found
    # the checker itself sees each form
    probe = ("import os, subprocess, asyncio\nos.system('x')\nsubprocess.run('ls', shell=True)\n"
             "subprocess.check_output(f'ls {x}')\nasyncio.create_subprocess_shell('x')\nos.popen('x')\n"
             "subprocess.run(['ls', '-l'])\nsubprocess.Popen(cmd, shell=False)\n")
    assert {int(f.split(":")[1].split()[0]) for f in shell_uses(probe, "probe.py")} == {2, 3, 4, 5, 6}


# --- entity expansion ---------------------------------------------------------------------------

LAUGHS = """<!DOCTYPE html [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
 <!ENTITY ext SYSTEM "file:///etc/passwd">
]>
<html><head><meta charset="utf-8"><title>&lol9;</title></head>
<body><p>&lol9;</p>
<img src="/img/1.jpg" alt="笑声&lol9;">
<img src="/img/2.jpg" alt="外部&ext;">
<a href="/xhtml">next</a>
</body></html>
"""


@pytest.fixture(scope="module")
def laughing_site() -> Iterator[str]:
    body = LAUGHS.encode()
    # the same document as XHTML (served as application/xhtml+xml), with an XML declaration
    xml = ('<?xml version="1.0" encoding="utf-8"?>\n' + LAUGHS
           .replace('<a href="/xhtml">next</a>', "").replace("/img/1.jpg", "/img/3.jpg")
           .replace("/img/2.jpg", "/img/4.jpg").replace("<html>", '<html xmlns="http://www.w3.org/1999/xhtml">')
           .replace('<meta charset="utf-8">', "")).encode()

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    async def xhtml(request: web.Request) -> web.Response:
        return web.Response(body=xml, content_type="application/xhtml+xml", charset="utf-8")

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nAllow: /\n")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/xhtml", xhtml)
    app.router.add_get("/robots.txt", robots)
    with serve_app(app) as base:
        yield base


# Runs argv[3:] and writes "<exit code> <peak RSS KB>" to argv[1]; kills it after argv[2] seconds.
_MEASURE = """
import os, subprocess, sys, threading
proc = subprocess.Popen(sys.argv[3:])
timer = threading.Timer(float(sys.argv[2]), proc.kill)
timer.start()
_, status, usage = os.wait4(proc.pid, 0)
timer.cancel()
with open(sys.argv[1], "w") as fh:
    fh.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def run_measured(cmd: list[str], env: dict[str, str], tmp: Path, timeout: float = 120) -> tuple[int, float]:
    """Runs `cmd`; returns its exit code and the peak RSS (MB) of it and every descendant it waited for
    (wait4's rusage: the crawl command and its Scrapy child).

    The command is started by a small Python process, not by pytest: a child's ru_maxrss also counts
    the memory of the process it was forked from, and pytest's grows with the suite.
    """
    result = tmp / "measured.txt"
    with open(tmp / "stderr.txt", "wb") as err:
        subprocess.run([sys.executable, "-c", _MEASURE, str(result), str(timeout), *cmd], cwd=REPO, env=env,
                       stdout=subprocess.DEVNULL, stderr=err, timeout=timeout + 30, check=False)
    rc, peak_kb = result.read_text().split()
    return int(rc), int(peak_kb) / 1024


def test_billion_laughs_page_is_parsed_without_expansion(laughing_site: str, tmp_path: Path) -> None:
    out = tmp_path / "candidates"
    env = {**os.environ, "WUKONG_LOOPBACK_ONLY": "1"}
    started = time.monotonic()
    rc, peak_mb = run_measured([sys.executable, "-m", "wukong.cli", "-q", "crawl", "--spider", "site", "--start-url",
                                f"{laughing_site}/", "--config", str(CONFIG), "--out", str(out)], env, tmp_path)
    elapsed = time.monotonic() - started
    assert rc == 0, (tmp_path / "stderr.txt").read_text()[-2000:]
    assert elapsed < 60 and peak_mb < 1024, (elapsed, peak_mb)
    table = pa.concat_tables([pq.read_table(p) for p in sorted(out.glob("part-site-*.parquet"))])
    rows = table.to_pylist()
    assert rows, "the page's images were not found at all"
    assert {r["url"].rsplit("/", 1)[-1] for r in rows} == {"1.jpg", "2.jpg", "3.jpg", "4.jpg"}  # HTML and XHTML
    for r in rows:
        assert len(r["caption"]) < 200 and "lolllol" not in r["caption"].replace(";", ""), r["caption"][:100]
        assert "root:" not in r["caption"]  # no external entity was read either
    stats = json.loads((out / "crawl_stats-site.json").read_text(encoding="utf-8"))
    assert stats["pairs"] == len(rows)


def test_load_config_is_plain_yaml(tmp_path: Path) -> None:
    """YAML tags that construct objects (or run code) are refused: the config is read with safe_load."""
    from manifests.errors import UserError

    cfg = tmp_path / "c.yaml"
    cfg.write_text("text: !!python/object/apply:os.system ['touch /tmp/pwned-yaml']\n", encoding="utf-8")
    with pytest.raises(UserError):
        load_config(cfg)
    assert not Path("/tmp/pwned-yaml").exists()
