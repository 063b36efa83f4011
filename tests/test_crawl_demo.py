"""The crawl stage end to end against the demo web (`wukong.demoweb`), compared with its ground truth.

Site crawl: every pair of the allowed pages, row by row (GBK, GB2312-declared, late-meta and Big5
pages included, captions byte-exact), nothing from the robots-disallowed section. Search: at most
`--max-per-query` pairs per query, decoded objURLs, recovery after the antiFlag answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from manifests.schemas import CANDIDATE

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(demo_web: Any) -> Any:
    """The session's demo web (tests/conftest.py: 1,500 pairs, seed 7, on 127.0.0.1)."""
    return demo_web


def crawl(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`wukong crawl ARGS`; with `home`, the user's home and XDG folders are that (empty) folder."""
    env = {**os.environ, "WUKONG_LOOPBACK_ONLY": "1"}
    if home is not None:
        home.mkdir()
        env.update({"HOME": str(home), **{f"XDG_{k}_HOME": str(home / k.lower()) for k in ("STATE", "CACHE",
                                                                                            "DATA", "CONFIG")}})
    done = subprocess.run([sys.executable, "-m", "wukong.cli", "crawl", *args, "--config", "configs/demo.yaml"],
                          capture_output=True, text=True, timeout=120, cwd=REPO, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def parts(out: Path, spider: str) -> pa.Table:
    tables = [pq.read_table(p) for p in sorted(out.glob(f"part-{spider}-*.parquet"))]
    assert tables and all(t.schema.equals(CANDIDATE) for t in tables)
    return pa.concat_tables(tables)


def stats(out: Path, spider: str) -> dict[str, Any]:
    return json.loads((out / f"crawl_stats-{spider}.json").read_text(encoding="utf-8"))


ROW = ("page_url", "url", "caption", "caption_source")


def rows(table: pa.Table) -> Counter[tuple[str, ...]]:
    return Counter(zip(*(table.column(c).to_pylist() for c in ROW), strict=True))


def test_site_crawl_finds_every_allowed_pair(demo: Any, tmp_path: Path) -> None:
    out, home = tmp_path / "site", tmp_path / "home"
    crawl("--spider", "site", "--start-url", demo.base_url + "/", "--out", str(out), home=home)
    # Nothing outside --out: no job file of Scrapy's remote-control server (on by default since Scrapy 2.19)
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert left == [], left
    truth = demo.web.ground_truth(demo.base_url, measure=False)
    allowed = [r for r in truth.to_pylist() if not r["disallowed"]]
    captioned = [r for r in allowed if r["caption"].strip()]
    table = parts(out, "site")
    got = rows(table)
    want = Counter(tuple(r[c] for c in ROW) for r in captioned)
    assert got - want == Counter(), "pairs the ground truth does not list"
    assert want - got == Counter(), "ground-truth pairs the crawl missed"
    assert table.num_rows == len(captioned)
    assert set(table.column("source").to_pylist()) == {"site"} and table.column("query").null_count == table.num_rows
    s = stats(out, "site")
    assert s["dropped"].get("no_caption", 0) == len(allowed) - len(captioned)  # counted, not written
    assert s["errors"] == {} and s["robots_forbidden"] >= 1
    assert s["counters"].get("wukong/refused_non_loopback", 0) == 0
    # nothing from the disallowed section, though the ground truth has pairs there
    assert any(r["disallowed"] for r in truth.to_pylist())
    assert not [u for u in table.column("page_url").to_pylist() if "/forum/private/" in u]
    # every encoding and every way of declaring it, byte-exact in UTF-8 and in the page's own charset
    by_key = {(r["page_url"], r["url"], r["caption"]): r for r in captioned}
    seen = Counter()
    for page_url, url, caption in zip(*(table.column(c).to_pylist() for c in ROW[:3]), strict=True):
        r = by_key[(page_url, url, caption)]
        assert caption.encode("utf-8") == r["caption"].encode("utf-8")
        codec = {"gbk": "gb18030", "big5": "big5hkscs"}.get(r["encoding"], r["encoding"])
        assert caption.encode(codec) == r["caption"].encode(codec)
        seen[(r["encoding"], r["charset_declaration"])] += 1
    assert {e for e, _ in seen} == {"utf-8", "gbk", "big5"}
    assert {d for _, d in seen} >= {"header", "meta", "meta_late", "gb2312"}
    # lazy-loaded images were taken from their lazy attribute, never the placeholder
    assert not [u for u in table.column("url").to_pylist() if "/static/" in u]
    lazy = {r["lazy_attr"] for r in captioned if r["lazy_attr"]}
    assert lazy >= {"data-src", "data-original", "srcset"}


@pytest.fixture(scope="module")
def search_truth(demo: Any) -> dict[str, list[dict[str, Any]]]:
    truth: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(demo.web.search_ground_truth(demo.base_url).to_pylist(), key=lambda r: (r["query"], r["rank"])):
        truth.setdefault(r["query"], []).append(r)
    return truth


def first_distinct(results: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in results:
        out.setdefault(r["url"], r)
    return list(out.values())[:limit]


@pytest.mark.parametrize(("api_format", "path"), [("baidu", "/search/acjson"), ("sogou", "/search/sogou"),
                                                  ("so360", "/search/so360")])
def test_search_against_demo_endpoint(demo: Any, search_truth: dict[str, list[dict[str, Any]]], tmp_path: Path,
                                      api_format: str, path: str) -> None:
    limit = 25
    queries = tmp_path / "queries.txt"
    queries.write_text("\n".join(search_truth) + "\n", encoding="utf-8")
    out = tmp_path / api_format
    crawl("--spider", "search", "--queries", str(queries), "--endpoint", demo.base_url + path, "--max-per-query",
          str(limit), "--partitions", "2", "--set", "crawl.page_size=10", "--set", f"crawl.api_format={api_format}",
          "--out", str(out))
    table = parts(out, "search")
    got: dict[str, list[dict[str, Any]]] = {}
    for r in table.to_pylist():
        got.setdefault(r["query"], []).append(r)
    assert set(got) == set(search_truth)
    for query, results in search_truth.items():
        expected = first_distinct(results, limit)
        mine = got[query]
        assert len(mine) == len(expected) <= limit, query
        # decoded objURLs (or replaceUrl) are the real image URLs, with their page and title
        assert {(r["url"], r["caption"], r["page_url"]) for r in mine} == \
            {(e["url"], e["caption"], e["from_url"]) for e in expected}
        assert {(r["width_hint"], r["height_hint"]) for r in mine} <= {(e["width"], e["height"]) for e in results}
    assert not [u for u in table.column("url").to_pylist() if "_z2C$q" in u or not u.startswith(demo.base_url)]
    s = stats(out, "search")
    assert s["queries_done"] == len(search_truth) and s["errors"] == {}
    if api_format == "baidu":  # every process starts without the cookie: blocked, warmed up, recovered
        assert s["blocked"] >= 2 and s["blocked_gave_up"] == 0 and s["counters"]["wukong/warmups"] == 2
