"""`wukong crawl --spider warc|cc-index` end to end on the demo web written out as a web archive.

The archive (warcio's writer, Common Crawl's record layout) gives exactly the pairs the site spider
takes from the live demo web, row by row; its WAT file gives the alt pairs; a columnar-index
excerpt over it, served on loopback with Range support (and from the S3 test server), gives the
same pairs while fetching only the selected records' bytes. Sources: paths, http(s) streams (a
broken transfer resumed by Range), `.paths.gz` listings, s3://. Bad input is counted and named and
never stops the other files. Runs resume per committed part, exactly.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from archive_server import archive_server

from crawler.archive.units import META_KEY
from manifests.schemas import CANDIDATE
from wukong.cli import main
from wukong.demoweb.archive import write_cc_index, write_warc, write_wat

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "demo.yaml"
ROW = ("page_url", "url", "caption", "caption_source")
WARC_NAME = "crawl-data/DEMO/segments/0/warc/demo-00000.warc.gz"
pytestmark = pytest.mark.slow


def parts(out: Path, spider: str = "warc") -> pa.Table:
    tables = [pq.read_table(p) for p in sorted(out.glob(f"part-{spider}-*.parquet"))]
    assert tables and all(t.schema.equals(CANDIDATE) for t in tables)
    return pa.concat_tables(tables)


def rows(table: pa.Table) -> Counter[tuple[str, ...]]:
    return Counter(zip(*(table.column(c).to_pylist() for c in ROW), strict=True))


def stats(out: Path, spider: str = "warc") -> dict[str, Any]:
    return json.loads((out / f"crawl_stats-{spider}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def archive(demo_web: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo web as WARC (with records that must yield nothing), WAT and index excerpt, and the
    live site crawl's pairs to compare with."""
    root = tmp_path_factory.mktemp("archive")
    warc = root / "www" / WARC_NAME
    write_warc(demo_web.web, demo_web.base_url, warc, extras=True)
    wat = root / "www" / WARC_NAME.replace(".warc.gz", ".warc.wat.gz")
    write_wat(demo_web.web, demo_web.base_url, wat, extras=True)
    index = root / "index" / "part-00000.parquet"
    write_cc_index(warc, WARC_NAME, index, row_group_size=100)
    env = {**os.environ, "WUKONG_LOOPBACK_ONLY": "1"}
    done = subprocess.run([sys.executable, "-m", "wukong.cli", "-q", "crawl", "--spider", "site", "--start-url",
                           demo_web.base_url + "/", "--config", str(CONFIG), "--out", str(root / "site")],
                          capture_output=True, text=True, timeout=180, cwd=REPO, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return {"root": root, "warc": warc, "wat": wat, "index": index, "site": parts(root / "site", "site")}


@pytest.fixture
def crawl(ray_local: None, restore_root_logger: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`wukong crawl ...` in this process (the session's Ray); returns the exit code."""
    monkeypatch.setenv("WUKONG_LOOPBACK_ONLY", "1")

    def run(*args: str) -> int:
        return main(["-q", "crawl", *args, "--config", str(CONFIG), "--set", "crawl.retry_backoff=0.01"])

    return run


def test_warc_gives_exactly_the_site_spiders_pairs(archive: dict[str, Any], demo_web: Any, crawl: Any,
                                                   tmp_path: Path) -> None:
    out = tmp_path / "warc"
    assert crawl("--spider", "warc", "--warc", str(archive["warc"]), "--out", str(out)) == 0
    table = parts(out)
    assert rows(table) == rows(archive["site"]) and table.num_rows == archive["site"].num_rows > 1000
    assert set(table.column("source").to_pylist()) == {"warc"} and table.column("query").null_count == table.num_rows
    dates = {t.isoformat() for t in table.column("crawled_at").to_pylist()}  # each page's WARC-Date
    assert dates and all(d.startswith("2026-10-01T00:") for d in dates) and len(dates) > 300
    # GBK and Big5 pages: captions byte-exact in UTF-8 and in the page's own charset
    truth = {(r["page_url"], r["url"], r["caption"]): r
             for r in demo_web.web.ground_truth(demo_web.base_url, measure=False).to_pylist()}
    encodings = Counter()
    for page_url, url, caption in zip(*(table.column(c).to_pylist() for c in ROW[:3]), strict=True):
        r = truth[(page_url, url, caption)]
        codec = {"gbk": "gb18030", "big5": "big5hkscs"}.get(r["encoding"], r["encoding"])
        assert caption.encode(codec) == r["caption"].encode(codec)
        encodings[r["encoding"]] += 1
    assert set(encodings) == {"utf-8", "gbk", "big5"}
    s = stats(out)
    pages = s["records"]["response"] - 3  # the 404, robots.txt and the English page
    assert s["records"] == {"warcinfo": 1, "request": pages + 3, "response": pages + 3, "metadata": pages + 3,
                            "revisit": 1}
    assert s["skipped_language"] == 1 and s["pages"] == pages and s["pairs"] == table.num_rows
    assert s["dropped"]["http_404"] == 1 and s["dropped"]["not_html"] == 1
    assert s["failed"] == {} and s["failures"] == [] and s["files"] == {"listed": 1, "done": 1, "read": 1,
                                                                         "unreadable_sources": 0}
    assert stats(archive["root"] / "site", "site")["dropped"]["no_caption"] == s["dropped"]["no_caption"]
    # a re-run has nothing left to do and changes nothing
    before = sorted(p.name for p in out.glob("part-warc-*"))
    assert crawl("--spider", "warc", "--warc", str(archive["warc"]), "--out", str(out)) == 0
    assert sorted(p.name for p in out.glob("part-warc-*")) == before and stats(out)["pairs"] == table.num_rows


def test_wat_gives_the_alt_pairs(archive: dict[str, Any], demo_web: Any, crawl: Any, tmp_path: Path) -> None:
    out = tmp_path / "wat"
    assert crawl("--spider", "warc", "--warc", str(archive["wat"]), "--out", str(out)) == 0
    got = Counter((r["page_url"], r["url"], r["caption"]) for r in parts(out).to_pylist())
    truth = [r for r in demo_web.web.ground_truth(demo_web.base_url, measure=False).to_pylist()
             if not r["disallowed"] and r["caption_source"] == "alt" and r["caption"].strip()]
    plain = Counter((r["page_url"], r["url"], r["caption"]) for r in truth if not r["lazy_attr"])
    assert plain and plain - got == Counter()  # every src+alt image, at its own URL
    lazy = got - plain  # lazy-loaded images: WAT records the placeholder `src`, with the real caption
    assert sum(lazy.values()) == sum(1 for r in truth if r["lazy_attr"])
    assert all("/static/" in url for _, url, _ in lazy)
    assert {c for _, _, c in lazy} == {r["caption"] for r in truth if r["lazy_attr"]}
    assert stats(out)["skipped_language"] == 1 and stats(out)["records"]["wat_response"] > 400


def test_cc_index_reads_only_the_selected_records_by_range(archive: dict[str, Any], crawl: Any,
                                                          tmp_path: Path) -> None:
    with archive_server(archive["root"] / "www") as server:
        server.unavailable[WARC_NAME] = 2  # 503 SlowDown twice: retried with backoff
        out = tmp_path / "cc"
        assert crawl("--spider", "cc-index", "--index", str(archive["index"]), "--out", str(out),
                     "--set", f"crawl.warc_base_url={server.base_url}/") == 0
    assert rows(parts(out)) == rows(archive["site"])
    index = pq.read_table(archive["index"]).to_pylist()
    selected = [r for r in index if r["fetch_status"] == 200 and r["content_mime_detected"] == "text/html"
                and r["content_languages"] == "zho"]
    wanted = {(r["warc_record_offset"], r["warc_record_offset"] + r["warc_record_length"] - 1) for r in selected}
    fetched = [e for e in server.log if e.status == 206]
    assert all(e.range for e in server.log)  # never a request for the whole file
    assert {tuple(int(x) for x in e.range.removeprefix("bytes=").split("-")) for e in fetched} == wanted
    assert sum(e.sent for e in fetched) == sum(r["warc_record_length"] for r in selected)  # 1.0x, within 1.2x
    assert [e.status for e in server.log].count(503) == 2
    s = stats(out, "cc-index")
    assert s["counters"]["bytes_fetched"] == s["counters"]["bytes_selected"]
    assert s["counters"]["index_rows"] == len(index) and s["counters"]["index_selected"] == len(selected)
    assert s["skipped_language"] == 1 and s["files"]["listed"] == s["files"]["done"] == 5  # row groups


def test_cc_index_keeps_to_the_per_host_limit(archive: dict[str, Any], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """One unit's ranged GETs: at most `crawl.concurrent_requests_per_host` in flight, and that many used."""
    from dataclasses import asdict

    from crawler.archive.ccindex import plan_index_units, run_index_unit
    from crawler.archive.units import Progress
    from manifests.config import load_config

    monkeypatch.setenv("WUKONG_LOOPBACK_ONLY", "1")
    with archive_server(archive["root"] / "www") as server:
        server.delay = 0.02
        cfg = load_config(CONFIG, [f"crawl.warc_base_url={server.base_url}", "crawl.concurrent_requests_per_host=2"])
        units, unreadable = plan_index_units([str(archive["index"])], None)
        report = run_index_unit(asdict(units[0]), asdict(Progress()), str(tmp_path / "one"), asdict(cfg.crawl), None,
                                {})
    assert unreadable == [] and report["new_rows"] > 0 and report["progress"]["done"]
    assert server.max_in_flight == 2 and len(server.log) == report["new_counters"]["range_requests"] == 100


def test_cc_index_from_object_storage(archive: dict[str, Any], crawl: Any, s3_server: Any, tmp_path: Path) -> None:
    bucket = s3_server.new_bucket()
    fs = s3_server.filesystem()
    fs.put_file(str(archive["warc"]), f"{bucket}/{WARC_NAME}")
    fs.put_file(str(archive["index"]), f"{bucket}/index/part-00000.parquet")
    sets = [x for o in s3_server.config_overrides() for x in ("--set", o)]
    out = tmp_path / "cc-s3"
    assert crawl("--spider", "cc-index", "--index", f"s3://{bucket}/index/*.parquet", "--out", str(out),
                 "--set", f"crawl.warc_base_url=s3://{bucket}/", *sets) == 0
    assert rows(parts(out)) == rows(archive["site"])
    counters = stats(out, "cc-index")["counters"]
    assert counters["bytes_fetched"] == counters["bytes_selected"]


def test_http_streams_listings_and_s3_sources(archive: dict[str, Any], crawl: Any, s3_server: Any,
                                             tmp_path: Path) -> None:
    www = tmp_path / "www"
    shutil.copytree(archive["root"] / "www", www)
    second = WARC_NAME.replace("00000", "00001")
    shutil.copy(www / WARC_NAME, www / second)
    (www / "warc.paths.gz").write_bytes(gzip.compress(f"{WARC_NAME}\n{second}\n".encode()))
    with archive_server(www) as server:
        server.break_after[WARC_NAME] = 200_000  # the stream breaks: read on with a Range request
        out = tmp_path / "listing"
        assert crawl("--spider", "warc", "--warc", server.url("warc.paths.gz"), "--limit-files", "1",
                     "--out", str(out), "--set", f"crawl.warc_base_url={server.base_url}/") == 0
        resumed = [e for e in server.log if e.path == WARC_NAME and e.range]
    assert rows(parts(out)) == rows(archive["site"])
    assert len(resumed) == 1 and resumed[0].range.startswith("bytes=200000-")
    assert stats(out)["files"]["listed"] == 1
    bucket = s3_server.new_bucket()
    s3_server.filesystem().put_file(str(archive["warc"]), f"{bucket}/a/demo.warc.gz")
    sets = [x for o in s3_server.config_overrides() for x in ("--set", o)]
    out = tmp_path / "s3"
    assert crawl("--spider", "warc", "--warc", f"s3://{bucket}/a/*.warc.gz", "--out", str(out), *sets) == 0
    assert rows(parts(out)) == rows(archive["site"])


def members(warc: Path) -> list[bytes]:
    """The file's gzip members (one record each), cut where warcio says the records are."""
    from warcio.archiveiterator import ArchiveIterator

    data = warc.read_bytes()
    spans = []
    with open(warc, "rb") as fh:
        records = ArchiveIterator(fh)
        for record in records:
            records.read_to_end(record)
            spans.append((records.get_record_offset(), records.get_record_length()))
    return [data[offset:offset + length] for offset, length in spans]


def damaged_copies(warc: Path, folder: Path) -> dict[str, Path]:
    """Copies of the archive, each with one kind of damage."""
    members_ = members(warc)
    folder.mkdir(parents=True, exist_ok=True)
    middle = len(members_) // 2
    corrupt = bytearray(members_[middle])
    corrupt[len(corrupt) // 2] ^= 0xFF
    wrong_length = gzip.decompress(members_[middle + 3]).replace(b"Content-Length: ", b"Content-Length: 1", 1)
    files = {
        "truncated": b"".join(members_)[:-5000],
        "corrupt": b"".join([*members_[:middle], bytes(corrupt), *members_[middle + 1:]]),
        "wrong_length": b"".join([*members_[:middle + 3], gzip.compress(wrong_length), *members_[middle + 4:]]),
        "not_warc": gzip.compress(b"url,caption\nhttp://a.cn/1.jpg,\xe7\x8c\xab\n" * 100),
    }
    out = {}
    for name, blob in files.items():
        path = folder / f"{name}.warc.gz"
        path.write_bytes(blob)
        out[name] = path
    return out


def test_bad_input_is_counted_and_named_and_never_stops_the_others(archive: dict[str, Any], crawl: Any,
                                                                   tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = damaged_copies(archive["warc"], tmp_path / "bad")
    missing = tmp_path / "bad" / "missing.warc.gz"
    out = tmp_path / "mixed"
    code = crawl("--spider", "warc", "--warc", str(archive["warc"]), *(str(p) for p in bad.values()), str(missing),
                 "http://127.0.0.1:9/closed.warc.gz", "--out", str(out), "--set", "crawl.retry_times=0")
    assert code == 0
    s = stats(out)
    kinds = Counter(f["kind"] for f in s["failures"])
    assert kinds == Counter({"corrupt_gzip": 1, "truncated_gzip": 1, "bad_content_length": 1, "not_warc": 1,
                             "unreadable": 2})
    where = {f["kind"]: f["where"] for f in s["failures"]}
    assert where["not_warc"] == f"{bad['not_warc']}@0" and where["corrupt_gzip"].startswith(f"{bad['corrupt']}@")
    assert str(missing) in {f["where"] for f in s["failures"]}
    full = rows(archive["site"])
    got = rows(parts(out))
    assert set(got) <= set(full)  # nothing invented
    assert sum(full.values()) < sum(got.values()) < 5 * sum(full.values())  # the good file whole, most of the rest
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err and "failed: " in printed.out
    # only unreadable files: exit 1; bad arguments: exit 2
    assert crawl("--spider", "warc", "--warc", str(bad["not_warc"]), str(missing), "--out", str(tmp_path / "x")) == 1
    assert crawl("--spider", "warc", "--out", str(tmp_path / "y")) == 2
    assert crawl("--spider", "warc", "--warc", "ftp://a/b.warc.gz", "--out", str(tmp_path / "y")) == 2
    assert crawl("--spider", "site", "--warc", str(missing), "--start-url", "http://127.0.0.1/",
                 "--out", str(tmp_path / "y")) == 2
    assert crawl("--spider", "warc", "--warc", str(missing), "--limit-files", "0", "--out", str(tmp_path / "y")) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("wukong: error:") == 5


def test_a_part_whose_state_file_was_lost_is_recovered_exactly(archive: dict[str, Any], crawl: Any,
                                                               tmp_path: Path) -> None:
    """A kill between a part's commit and its unit's state file: the next run reads the part's footer
    and goes on after it, so no pair is lost or repeated."""
    out = tmp_path / "orphan"
    assert crawl("--spider", "warc", "--warc", str(archive["warc"]), "--out", str(out),
                 "--set", "crawl.rows_per_part=200") == 0
    names = sorted(p.name for p in out.glob("part-warc-*"))
    assert len(names) >= 5
    state_path = next((out / "_jobs" / "warc" / "units").glob("*.json"))
    # the state as it was after the third part, then parts four and on removed but the fourth
    fourth = pq.read_metadata(out / names[3]).metadata[META_KEY]
    third = json.loads(pq.read_metadata(out / names[2]).metadata[META_KEY])
    state = json.loads(state_path.read_text())
    state.update({k: third[k] for k in ("resume", "done", "rows", "seq", "counters", "failures")})
    state["parts"] = names[:3]
    state_path.write_text(json.dumps(state))
    for name in names[4:]:
        (out / name).unlink()
    assert json.loads(fourth)["seq"] == third["seq"] + 1
    assert crawl("--spider", "warc", "--warc", str(archive["warc"]), "--out", str(out),
                 "--set", "crawl.rows_per_part=200") == 0
    assert rows(parts(out)) == rows(archive["site"])
    assert stats(out)["pairs"] == archive["site"].num_rows


def test_killed_mid_run_then_resumed_loses_and_repeats_nothing(archive: dict[str, Any], tmp_path: Path) -> None:
    from test_reliability_crash import kill_tree

    copies = []
    for i in range(3):
        path = tmp_path / "in" / f"demo-{i}.warc.gz"
        path.parent.mkdir(exist_ok=True)
        shutil.copy(archive["warc"], path)
        copies.append(str(path))
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "wukong.cli", "-q", "crawl", "--spider", "warc", "--warc", *copies, "--config",
           str(CONFIG), "--set", "crawl.rows_per_part=100", "--partitions", "1", "--out", str(out)]
    env = {**os.environ, "WUKONG_LOOPBACK_ONLY": "1"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("part-warc-*.parquet"))) < 20 and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before the kill: make it longer"
    finally:
        kill_tree(proc)
    killed_at = len(list(out.glob("part-warc-*.parquet")))
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = Counter({k: 3 * v for k, v in rows(archive["site"]).items()})
    table = parts(out)
    assert len(list(out.glob("part-warc-*.parquet"))) > killed_at
    assert Counter(zip(*(table.column(c).to_pylist() for c in ROW), strict=True)) == expected
    s = stats(out)
    assert s["pairs"] == table.num_rows and s["files"]["done"] == 3 and s["failures"] == []
