"""Spider logic and the output pipeline, driven with hand-built responses (no network, no reactor)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.items import CandidatePair, Checkpoint
from crawler.jobs import jobs_root, plan_search, read_queries
from crawler.journal import JOURNAL_NAME, Journal, done_pages, done_queries, read_journal
from crawler.parts import PartWriter, existing_parts
from crawler.pipelines import CandidatePartsPipeline, to_table
from crawler.spiders import SearchSpider, SiteSpider
from manifests.config import CrawlConfig
from manifests.schemas import CANDIDATE

ENDPOINT = "http://127.0.0.1:9/search/acjson"


def make_spider(cls: type, tmp_path: Path, **kwargs: Any) -> tuple[Any, Crawler]:
    crawler = get_crawler(cls)
    spider = cls.from_crawler(crawler, job_dir=str(tmp_path), **kwargs)
    crawler.spider = spider
    return spider, crawler


def stat(crawler: Crawler, key: str) -> int:
    assert crawler.stats is not None
    return int(crawler.stats.get_value(key, 0))


def acjson(urls: list[str]) -> bytes:
    items = [{"objURL": u, "fromURL": "http://127.0.0.1:9/p.html", "fromPageTitleEnc": f"标题{u[-6:]}",
              "width": 500, "height": 400} for u in urls]
    return json.dumps({"data": [*items, {}]}, ensure_ascii=False).replace("/", "\\/").encode()


def answer(request: Request, body: bytes) -> TextResponse:
    return TextResponse(url=request.url, body=body, request=request, headers={"Content-Type": "application/json"})


def run(spider: Any, request: Request, body: bytes) -> list[Any]:
    return list(request.callback(answer(request, body), **request.cb_kwargs))


async def _collect(gen: AsyncIterator[Any]) -> list[Any]:
    return [x async for x in gen]


def starts(spider: Any) -> list[Any]:
    return asyncio.run(_collect(spider.start()))


def split(out: list[Any]) -> tuple[list[CandidatePair], list[Request], list[Checkpoint]]:
    return ([o for o in out if isinstance(o, CandidatePair)], [o for o in out if isinstance(o, Request)],
            [o for o in out if isinstance(o, Checkpoint)])


def urls(n: int, start: int = 0) -> list[str]:
    return [f"http://127.0.0.1:9/img/{i:06d}.jpg" for i in range(start, start + n)]


def test_search_pages_until_max_per_query(tmp_path: Path) -> None:
    cfg = CrawlConfig(endpoint=ENDPOINT, page_size=30, max_per_query=40)
    spider, crawler = make_spider(SearchSpider, tmp_path, config=cfg, queries=["猫", "狗", "猫"])
    first = starts(spider)
    assert [r.cb_kwargs["query"] for r in first] == ["猫", "狗", "猫"]  # the command dedups; the spider does not
    assert "word=%E7%8C%AB&pn=0&rn=30&gsm=0" in first[0].url
    pairs, reqs, done = split(run(spider, first[0], acjson(urls(30))))
    assert len(pairs) == 30 and not done and len(reqs) == 1
    assert "pn=30&rn=30&gsm=1e" in reqs[0].url
    p0 = pairs[0]
    assert (p0.query, p0.source, p0.caption_source, p0.width_hint, p0.height_hint) == ("猫", "search", "api", 500, 400)
    pairs, reqs, done = split(run(spider, reqs[0], acjson(urls(30, 30))))
    assert len(pairs) == 10 and not reqs and done == [Checkpoint("query", "猫")]
    assert stat(crawler, "wukong/dropped/over_max_per_query") == 20
    assert stat(crawler, "wukong/queries_done") == 1 and stat(crawler, "wukong/pages") == 2


def test_search_stops_when_a_page_repeats(tmp_path: Path) -> None:
    cfg = CrawlConfig(endpoint=ENDPOINT, page_size=30, max_per_query=1000)
    spider, crawler = make_spider(SearchSpider, tmp_path, config=cfg, queries=["猫"])
    (req,) = starts(spider)
    _, (req,), _ = split(run(spider, req, acjson(urls(30))))
    _, (req,), _ = split(run(spider, req, acjson(urls(12, 30))))  # a short last page
    pairs, reqs, done = split(run(spider, req, acjson(urls(12, 30))))  # past the end: repeats
    assert not pairs and not reqs and done == [Checkpoint("query", "猫")]
    assert stat(crawler, "wukong/dropped/duplicate_in_query") == 12
    # an empty data list also ends the query
    spider2, _ = make_spider(SearchSpider, tmp_path, config=cfg, queries=["狗"])
    (req,) = starts(spider2)
    assert split(run(spider2, req, b'{"data": [{}]}'))[2] == [Checkpoint("query", "狗")]


BLOCKED = b'{"antiFlag":1,"message":"Forbid spider access"}'


def warm(spider: Any, warm_request: Request) -> list[Request]:
    home = HtmlResponse(url=warm_request.url, body=b"<html></html>", request=warm_request)
    return list(warm_request.callback(home, **warm_request.cb_kwargs))


def test_search_antiflag_warms_up_then_gives_up(tmp_path: Path) -> None:
    cfg = CrawlConfig(endpoint=ENDPOINT, max_blocked_retries=2)
    spider, crawler = make_spider(SearchSpider, tmp_path, config=cfg, queries=["猫"])
    (req,) = starts(spider)
    for attempt in (1, 2):
        (warm_request,) = run(spider, req, BLOCKED)
        assert warm_request.url == "http://127.0.0.1:9/" and warm_request.dont_filter
        assert warm_request.meta["handle_httpstatus_all"]
        (req,) = warm(spider, warm_request)
        assert req.meta["wukong_blocked"] == attempt and "pn=0" in req.url
    assert run(spider, req, BLOCKED) == []  # no checkpoint: a re-run retries the query
    assert stat(crawler, "wukong/blocked") == 3 and stat(crawler, "wukong/blocked_gave_up") == 1
    assert stat(crawler, "wukong/warmups") == 2


def test_search_recovers_after_one_shared_warm_up(tmp_path: Path) -> None:
    cfg = CrawlConfig(endpoint=ENDPOINT, max_blocked_retries=2)
    spider, crawler = make_spider(SearchSpider, tmp_path, config=cfg, queries=["猫", "狗", "鱼"])
    cat, dog, fish = starts(spider)
    (warm_request,) = run(spider, cat, BLOCKED)
    assert run(spider, dog, BLOCKED) == []  # waits for the warm-up in flight
    retries = warm(spider, warm_request)
    assert [r.cb_kwargs["query"] for r in retries] == ["猫", "狗"]
    (fish_retry,) = run(spider, fish, BLOCKED)  # sent before the warm-up: retried at once, no second warm-up
    assert fish_retry.cb_kwargs["query"] == "鱼" and fish_retry.meta["wukong_blocked"] == 1
    pairs, _, _ = split(run(spider, retries[0], acjson(urls(5))))
    assert len(pairs) == 5
    assert stat(crawler, "wukong/warmups") == 1 and stat(crawler, "wukong/blocked") == 3
    assert stat(crawler, "wukong/blocked_gave_up") == 0


def test_search_malformed_answer_is_an_error(tmp_path: Path) -> None:
    spider, crawler = make_spider(SearchSpider, tmp_path, config=CrawlConfig(endpoint=ENDPOINT), queries=["猫"])
    (req,) = starts(spider)
    assert run(spider, req, b'{"data": [') == []
    assert stat(crawler, "wukong/errors/malformed_json") == 1


def test_search_only_talks_to_its_endpoint(tmp_path: Path) -> None:
    spider, _ = make_spider(SearchSpider, tmp_path, config=CrawlConfig(endpoint=ENDPOINT), queries=[])
    assert spider.allowed_netlocs == {"127.0.0.1:9"}


SITE = "http://127.0.0.1:9"


def page(request: Request, html: str) -> HtmlResponse:
    return HtmlResponse(url=request.url, body=html.encode(), request=request, encoding="utf-8")


def test_site_pairs_links_and_budget(tmp_path: Path) -> None:
    spider, crawler = make_spider(SiteSpider, tmp_path, config=CrawlConfig(max_pages=3),
                                  start_urls=[f"{SITE}/"])
    (req,) = starts(spider)
    html = ('<img src="a.jpg" alt="第一张"><img src="b.jpg"><a href="/p1">1</a><a href="/p2#x">2</a>'
            '<a href="/p3">3</a><a href="http://127.0.0.1:10/">other port</a><a href="/">home</a>')
    out = list(req.callback(page(req, html), **req.cb_kwargs))
    pairs, reqs, done = split(out)
    assert [(p.url, p.caption, p.page_url, p.query, p.source) for p in pairs] == [
        (f"{SITE}/a.jpg", "第一张", f"{SITE}/", None, "site")]
    assert [r.url for r in reqs] == [f"{SITE}/p1", f"{SITE}/p2"]  # budget of 3 pages, fragment dropped
    assert done == [Checkpoint("page", f"{SITE}/", [f"{SITE}/p1", f"{SITE}/p2", f"{SITE}/p3", f"{SITE}/"])]
    assert stat(crawler, "wukong/dropped/no_caption") == 1 and stat(crawler, "wukong/over_page_budget") == 1
    assert spider.allowed_netlocs == {"127.0.0.1:9"}


def test_site_page_that_opts_out_gives_no_pairs_but_its_links(tmp_path: Path) -> None:
    spider, crawler = make_spider(SiteSpider, tmp_path, config=CrawlConfig(), start_urls=[f"{SITE}/"])
    (req,) = starts(spider)
    html = '<meta name="robots" content="noai"><img src="a.jpg" alt="第一张"><a href="/p1">1</a>'
    pairs, reqs, done = split(list(req.callback(page(req, html), **req.cb_kwargs)))
    assert pairs == [] and [r.url for r in reqs] == [f"{SITE}/p1"]
    assert done == [Checkpoint("page", f"{SITE}/", [f"{SITE}/p1"])]
    assert stat(crawler, "wukong/opt_out_pages") == 1 and stat(crawler, "wukong/pages") == 1


def test_site_resume_replays_the_journal(tmp_path: Path) -> None:
    Journal(tmp_path / JOURNAL_NAME).append([
        Checkpoint("page", f"{SITE}/", [f"{SITE}/a", f"{SITE}/b"]),
        Checkpoint("page", f"{SITE}/a", [f"{SITE}/", f"{SITE}/c"]),
    ])
    spider, crawler = make_spider(SiteSpider, tmp_path, config=CrawlConfig(), start_urls=[f"{SITE}/"])
    assert [r.url for r in starts(spider)] == [f"{SITE}/b", f"{SITE}/c"]
    assert stat(crawler, "wukong/skipped_done") == 2


def test_site_non_html_is_dropped(tmp_path: Path) -> None:
    spider, crawler = make_spider(SiteSpider, tmp_path, config=CrawlConfig(), start_urls=[f"{SITE}/"])
    (req,) = starts(spider)
    out = list(req.callback(TextResponse(url=req.url, body=b"{}", request=req), **req.cb_kwargs))
    assert out == [Checkpoint("page", f"{SITE}/")] and stat(crawler, "wukong/dropped/not_html") == 1


def pair(i: int) -> CandidatePair:
    return CandidatePair(url=f"http://127.0.0.1:9/{i}.jpg", caption=f"第{i}张", caption_source="alt",
                         page_url="http://127.0.0.1:9/", query=None, source="site",
                         crawled_at=datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC), width_hint=None,
                         height_hint=None)


def make_pipeline(tmp_path: Path, rows: int) -> tuple[CandidatePartsPipeline, Crawler]:
    _spider, crawler = make_spider(SiteSpider, tmp_path / "job", config=CrawlConfig(), start_urls=[f"{SITE}/"])
    pipe = CandidatePartsPipeline(crawler, tmp_path / "out", tmp_path / "job", rows)
    pipe.open_spider()
    return pipe, crawler


def test_pipeline_rotates_parts_and_journals_after_commit(tmp_path: Path) -> None:
    pipe, crawler = make_pipeline(tmp_path, rows=3)
    journal = tmp_path / "job" / JOURNAL_NAME
    pipe.process_item(pair(0))
    pipe.process_item(Checkpoint("page", "p0"))
    assert read_journal(journal) == []  # its pair is not in a part yet
    pipe.process_item(pair(1))
    pipe.process_item(pair(2))  # third row: part 0 committed, then the checkpoint journaled
    assert [c.key for c in read_journal(journal)] == ["p0"]
    for i in range(3, 7):
        pipe.process_item(pair(i))
    pipe.process_item(Checkpoint("page", "p1"))
    pipe.close_spider()
    parts = existing_parts(tmp_path / "out", "site")
    assert [p.name for p in parts] == ["part-site-00000.parquet", "part-site-00001.parquet",
                                       "part-site-00002.parquet"]
    tables = [pq.read_table(p) for p in parts]
    assert [t.num_rows for t in tables] == [3, 3, 1]
    assert all(t.schema.equals(CANDIDATE) for t in tables)
    assert tables[0].column("caption").to_pylist() == ["第0张", "第1张", "第2张"]
    assert tables[0].column("crawled_at")[0].as_py() == datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert [c.key for c in read_journal(journal)] == ["p0", "p1"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in parts]  # no temp files
    assert stat(crawler, "wukong/pairs") == 7 and stat(crawler, "wukong/parts") == 3
    saved = json.loads((tmp_path / "job" / "stats.json").read_text())
    assert saved["counters"]["wukong/pairs"] == 7


def test_pipeline_drops_invalid_pairs(tmp_path: Path) -> None:
    pipe, crawler = make_pipeline(tmp_path, rows=10)
    bad = pair(0)
    bad.url = "ftp://127.0.0.1/x.jpg"
    with pytest.raises(DropItem):
        pipe.process_item(bad)
    blank = pair(1)
    blank.caption = "  "
    with pytest.raises(DropItem):
        pipe.process_item(blank)
    with pytest.raises(DropItem):
        pipe.process_item({"url": "x"})
    assert stat(crawler, "wukong/dropped/bad_url") == 1 and stat(crawler, "wukong/dropped/no_caption") == 1


def test_pipeline_stats_are_cumulative_across_runs(tmp_path: Path) -> None:
    for _ in range(2):
        pipe, _ = make_pipeline(tmp_path, rows=10)
        pipe.process_item(pair(0))
        pipe.close_spider()
    saved = json.loads((tmp_path / "job" / "stats.json").read_text())
    assert saved["counters"]["wukong/pairs"] == 2
    assert len(existing_parts(tmp_path / "out", "site")) == 2


def test_part_names_never_collide(tmp_path: Path) -> None:
    out = tmp_path / "out"
    a = PartWriter(out, "search", tmp_path / "a.parquet")
    b = PartWriter(out, "search", tmp_path / "b.parquet")  # another partition, same folder
    table = to_table([pair(0)])
    names = [a.commit(table).name, b.commit(table).name, b.commit(table).name, a.commit(table).name]
    assert names == ["part-search-00000.parquet", "part-search-00001.parquet", "part-search-00002.parquet",
                     "part-search-00003.parquet"]
    assert PartWriter(out, "search", tmp_path / "c.parquet").commit(table).name == "part-search-00004.parquet"
    assert not (tmp_path / "a.parquet").exists()


def test_naive_timestamps_are_utc() -> None:
    naive = pair(0)
    naive.crawled_at = datetime(2024, 1, 1, 0, 0, 0)
    assert to_table([naive]).column("crawled_at")[0].as_py() == datetime(2024, 1, 1, tzinfo=UTC)


def test_journal_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_NAME
    Journal(path).append([Checkpoint("query", "猫"), Checkpoint("page", "http://x/", ["http://x/a"])])
    with open(path, "ab") as fh:
        fh.write(b'{"kind": "query", "key": "torn')
    assert done_queries([path]) == {"猫"}
    Journal(path).append([Checkpoint("query", "狗")])  # reopening cuts the torn tail
    assert done_queries([path, tmp_path / "missing.jsonl"]) == {"猫", "狗"}
    assert done_pages(path) == {"http://x/": ["http://x/a"]}


def test_site_redirect_target_is_parsed_once(tmp_path: Path) -> None:
    spider, crawler = make_spider(SiteSpider, tmp_path, config=CrawlConfig(), start_urls=[f"{SITE}/", f"{SITE}/a"])
    first, second = starts(spider)
    html = '<img src="x.jpg" alt="图">'
    # "/" redirects to "/index.html"; "/a" redirects there too
    out1 = list(first.callback(HtmlResponse(url=f"{SITE}/index.html", body=html.encode(), request=first,
                                            encoding="utf-8"), **first.cb_kwargs))
    out2 = list(second.callback(HtmlResponse(url=f"{SITE}/index.html", body=html.encode(), request=second,
                                             encoding="utf-8"), **second.cb_kwargs))
    assert len(split(out1)[0]) == 1 and split(out1)[2] == [Checkpoint("page", f"{SITE}/"),
                                                         Checkpoint("page", f"{SITE}/index.html")]
    assert out2 == [Checkpoint("page", f"{SITE}/a")] and stat(crawler, "wukong/dropped/duplicate_page") == 1
    assert f"{SITE}/index.html" in spider.seen


def test_plan_search_skips_done_queries_whatever_the_partitioning(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # an earlier run with another partition count finished b and d
    Journal(jobs_root(out) / "search-p007" / JOURNAL_NAME).append([Checkpoint("query", "b"), Checkpoint("query", "d")])
    specs, done = plan_search(out, list("abcdef"), CrawlConfig(), 3)
    assert done == 2
    assert [(Path(s.job_dir).name, s.queries) for s in specs] == [
        ("search-p000", ["a", "f"]), ("search-p001", ["c"]), ("search-p002", ["e"])]
    specs, _ = plan_search(out, list("abcdef"), CrawlConfig(), 10)
    assert len(specs) == 4  # never more processes than queries left
    Journal(jobs_root(out) / "search-p000" / JOURNAL_NAME).append([Checkpoint("query", q) for q in "acef"])
    assert plan_search(out, list("abcdef"), CrawlConfig(), 2) == ([], 6)


def test_read_queries(tmp_path: Path) -> None:
    path = tmp_path / "q.txt"
    path.write_bytes("\ufeff猫\r\n\r\n  狗 \n猫\n熊猫".encode())
    assert read_queries(path) == ["猫", "狗", "熊猫"]
