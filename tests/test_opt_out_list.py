"""Opt-out lists (`privacy.opt_out_lists`): parsing, matching, bad lists, and the whole filter stage
with both kinds of opt-out (a list, and headers on the image response) against a loopback server:
listed candidates are never downloaded, and every row is still accounted for."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from aiohttp import web
from loopback import serve_app
from test_filter_stage import _jpeg  # a distinct 320x240 noise JPEG per seed

from filters.base import apply_filters
from filters.opt_out_list import OptOutListFilter, load_opt_out_lists
from filters.runner import run_filter
from manifests.config import Config, load_config
from manifests.errors import UserError
from manifests.schemas import CANDIDATE
from wukong.cli import main

LIST = """\ufeff# publishers who asked to be left out
example.com
*.Example.ORG     # wildcard form, any case
.dotted.net

https://cdn.example.net/u/123/
pics.example.cn/albums/42   # no scheme: http and https alike
中文.example.cn
"""


@pytest.fixture()
def list_file(tmp_path: Path) -> Path:
    path = tmp_path / "optout.txt"
    path.write_text(LIST, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/a.jpg", "optout.txt: example.com"),
        ("https://IMG.cdn.Example.com:8443/a.jpg", "optout.txt: example.com"),  # subdomain, port, case
        ("http://example.com./a.jpg", "optout.txt: example.com"),  # trailing dot
        ("http://notexample.com/a.jpg", None),  # a different domain that ends the same way
        ("http://example.com.evil.test/a.jpg", None),
        ("http://s.example.org/x.png", "optout.txt: *.Example.ORG"),
        ("http://example.org/x.png", "optout.txt: *.Example.ORG"),
        ("http://a.dotted.net/x.png", "optout.txt: .dotted.net"),
        ("http://cdn.example.net/u/123/p.jpg", "optout.txt: https://cdn.example.net/u/123/"),  # scheme-blind
        ("https://CDN.example.net/u/123/p.jpg", "optout.txt: https://cdn.example.net/u/123/"),
        ("https://cdn.example.net/u/1234/p.jpg", None),  # a prefix, not a neighbour
        ("https://cdn.example.net/u/12/p.jpg", None),
        ("https://img.cdn.example.net/u/123/p.jpg", None),  # a URL prefix covers its host only
        ("https://pics.example.cn/albums/42/x.jpg", "optout.txt: pics.example.cn/albums/42"),
        ("https://pics.example.cn/albums/43/x.jpg", None),
        ("http://图.中文.example.cn/x.jpg", "optout.txt: 中文.example.cn"),  # IDNA on both sides
        ("not a url", None),
        ("", None),
    ],
)
def test_matching(list_file: Path, url: str, expected: str | None) -> None:
    lists = load_opt_out_lists([str(list_file)])
    assert len(lists) == 6
    assert lists.match(url) == expected


def test_filter_checks_image_then_page(list_file: Path) -> None:
    cfg = Config()
    cfg.privacy.opt_out_lists = [str(list_file)]
    table = pa.table({
        "url": ["http://ok.test/1.jpg", "http://example.com/2.jpg", "http://ok.test/3.jpg", None],
        "page_url": ["http://ok.test/p", "http://ok.test/p", "http://www.example.org/p", None],
    })
    out = apply_filters(table, [OptOutListFilter(cfg)])
    assert out.column("reason").to_pylist() == [None, "opt_out", "opt_out", None]
    assert out.column("detail").to_pylist() == [
        None, "optout.txt: example.com", "optout.txt: *.Example.ORG (page_url)", None]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("example.com\nnot a domain\n", "optout.txt:2: not a domain or an http(s) URL prefix: not a domain"),
        ("ftp://example.com/x\n", "optout.txt:1: not a domain or an http(s) URL prefix: ftp://example.com/x"),
        ("exa mple.com\n", "optout.txt:1: not a domain"),
        ("http:///nohost\n", "optout.txt:1: not a domain"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "optout.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_opt_out_lists([str(path)])


def test_missing_unreadable_and_non_utf8_lists(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"opt-out list not found: .*nope\.txt$"):
        load_opt_out_lists([str(tmp_path / "nope.txt")])
    with pytest.raises(UserError, match="opt-out list not found"):
        load_opt_out_lists([str(tmp_path)])  # a folder
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("中文.cn\n".encode("gbk"))
    with pytest.raises(UserError, match="opt-out list is not UTF-8"):
        load_opt_out_lists([str(gbk)])
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n\n")
    assert len(load_opt_out_lists([str(empty)])) == 0


def test_list_on_object_storage(s3_server) -> None:
    bucket = s3_server.new_bucket()
    s3_server.filesystem().pipe(f"{bucket}/lists/optout.txt", b"example.com\n")
    cfg = load_config(None, s3_server.config_overrides())
    lists = load_opt_out_lists([f"s3://{bucket}/lists/optout.txt"], cfg.storage)
    assert lists.match("http://a.example.com/x.jpg") == "optout.txt: example.com"
    with pytest.raises(UserError, match=f"opt-out list not found: s3://{bucket}/lists/missing.txt"):
        load_opt_out_lists([f"s3://{bucket}/lists/missing.txt"], cfg.storage)


# -- the whole filter stage ---------------------------------------------------------------------

HITS: Counter[str] = Counter()


def _app() -> web.Application:
    async def image(request: web.Request) -> web.Response:
        kind, i = request.match_info["kind"], int(request.match_info["i"])
        HITS[kind] += 1
        headers = {"open": {}, "listed": {}, "noai": {"X-Robots-Tag": "noai"},
                   "otherbot": {"X-Robots-Tag": "otherbot: noimageai"}, "tdm": {"tdm-reservation": "1"}}[kind]
        return web.Response(body=_jpeg(i), content_type="image/jpeg", headers=headers)

    app = web.Application()
    app.router.add_get("/{kind}/{i}.jpg", image)
    return app


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_app(_app()) as base:
        yield base


def _candidates(folder: Path, base: str) -> Path:
    kinds = ["open", "listed", "noai", "otherbot", "tdm", "open"]
    urls = [f"{base}/{kind}/{i}.jpg" for i, kind in enumerate(kinds * 4)]
    pages = ["http://news.blocked.example/p.html" if i % 6 == 5 else f"{base}/page.html" for i in range(len(urls))]
    rows = {f.name: pa.nulls(len(urls), f.type) for f in CANDIDATE}
    rows.update(url=pa.array(urls), page_url=pa.array(pages), source=pa.array(["site"] * len(urls)),
                caption=pa.array([f"海边的日落风景第{i}张" for i in range(len(urls))]),
                caption_source=pa.array(["alt"] * len(urls)))
    folder.mkdir()
    pq.write_table(pa.Table.from_pydict(rows, schema=CANDIDATE), folder / "part-site-00000.parquet")
    return folder


def test_filter_stage_rejects_listed_and_opted_out_images(server: str, tmp_path: Path, ray_local: None) -> None:
    candidates = _candidates(tmp_path / "candidates", server)
    optout = tmp_path / "optout.txt"
    optout.write_text(f"# test\n{server}/listed/\nblocked.example\n", encoding="utf-8")
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "demo.yaml",
                      ["privacy.mask_person_names=false", "text.max_caption_repeats=100",
                       f"privacy.opt_out_lists=[{optout}]"])
    HITS.clear()
    run_filter(candidates, tmp_path / "out", cfg)
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats == {"input": 24, "kept": 8, "rejected": {"opt_out": 16}}
    details = Counter(r["detail"] for r in pq.read_table(tmp_path / "out" / "rejected").to_pylist())
    assert details == {f"optout.txt: {server}/listed/": 4, "X-Robots-Tag: noai": 4, "tdm-reservation: 1": 4,
                       "optout.txt: blocked.example (page_url)": 4}
    kept = pq.read_table(tmp_path / "out" / "kept", columns=["url"]).column("url").to_pylist()
    assert sorted(u.split("/")[-2] for u in kept) == ["open"] * 4 + ["otherbot"] * 4
    assert HITS["listed"] == 0  # never downloaded
    assert HITS["noai"] == 4 and HITS["open"] == 4  # the four `open` rows of a blocked page were not fetched


def test_filter_command_refuses_a_missing_list(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               restore_root_logger: None) -> None:
    candidates = _candidates(tmp_path / "candidates", "http://127.0.0.1:9")
    code = main(["filter", "--in", str(candidates), "--out", str(tmp_path / "out"),
                 "--set", f"privacy.opt_out_lists=[{tmp_path / 'nope.txt'}]"])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"wukong: error: opt-out list not found: {tmp_path / 'nope.txt'}"
