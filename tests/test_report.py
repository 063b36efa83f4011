"""`wukong report` on synthetic data dirs: the HTML's numbers match stats.json, every plot is a real PNG,
partial data dirs (crawl only, release only) work, and bad input is a one-line error with exit 2."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pytest

from manifests.layout import DataDir, FilteredDir
from manifests.stats import FilterStats
from wukong.cli import main
from wukong.report import Limits, build_report, load_report_data
from wukong.report.funnel import funnel_rows, ordered_reasons, step_of
from wukong.report.gallery import SCRIPT
from wukong.report.plots import Style
from wukong.report.synthetic import write_synthetic_data_dir

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROWS = 2000


class ReportPage(HTMLParser):
    """Collects tables (`id` -> row key -> cell values), plot and thumbnail img sources, link targets and
    element ids."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, list[str]]] = {}
        self.images: list[str] = []
        self.thumbs: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self._table: str | None = None
        self._row: list[str] | None = None
        self._key: str | None = None
        self._cell: list[str] | None = None
        self._value: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "table":
            self._table = a.get("id")
            if self._table:
                self.tables[self._table] = {}
        elif tag == "tr":
            self._row, self._key = [], a.get("data-key")
        elif tag == "td" and self._row is not None:
            self._cell, self._value = [], a.get("data-value")
        elif tag == "img":
            (self.thumbs if a.get("class") == "thumb" else self.images).append(a.get("src") or "")
        elif tag == "a":
            self.links.append(a.get("href") or "")

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append(self._value if self._value is not None else "".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._table and self._key is not None:
                self.tables[self._table][self._key] = self._row
            self._row = None
        elif tag == "table":
            self._table = None


def read_page(root: Path) -> tuple[str, ReportPage]:
    text = DataDir(root).report_html.read_text(encoding="utf-8")
    return text, ReportPage(text)


def assert_real_pngs(root: Path, page: ReportPage) -> None:
    assert page.images, "the report has no plots"
    for src in page.images:
        assert not src.startswith(("/", "http:", "https:", "file:")), src
        path = root / src
        assert path.is_file(), src
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 1024, src


@pytest.fixture(scope="module")
def full_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("full")
    write_synthetic_data_dir(root, rows=ROWS, seed=3)
    assert main(["report", "--data-dir", str(root)]) == 0
    yield root


def test_report_numbers_match_stats_json(full_dir: Path) -> None:
    stats = json.loads(FilteredDir(full_dir / "filtered").stats.read_text(encoding="utf-8"))
    _, page = read_page(full_dir)
    reasons = page.tables["reasons"]
    assert {k for k in reasons if k != "total"} == set(stats["rejected"])
    for reason, n in stats["rejected"].items():
        assert int(reasons[reason][2]) == n, reason
    assert int(reasons["total"][2]) == sum(stats["rejected"].values())
    totals = page.tables["totals"]
    assert int(totals["input"][1]) == stats["input"] and int(totals["kept"][1]) == stats["kept"]
    funnel = page.tables["funnel-table"]
    assert int(funnel["input"][1]) == stats["input"] and int(funnel["kept"][1]) == stats["kept"]
    assert int(funnel["released"][1]) == stats["kept"]  # the synthetic release holds every kept pair
    # Rejection rows are in pipeline order, and the funnel's steps add up to the kept count.
    keys = [k for k in reasons if k != "total"]
    assert keys == ordered_reasons(FilterStats.from_dict(stats))
    steps = [k for k in funnel if k not in ("input", "kept", "released")]
    assert int(funnel[steps[-1]][1]) == stats["kept"]
    assert sum(int(funnel[s][2]) for s in steps) == sum(stats["rejected"].values())
    # Percentages are of the input.
    reason = keys[0]
    assert float(reasons[reason][3]) == pytest.approx(100 * stats["rejected"][reason] / stats["input"])


def test_report_plots_are_real_pngs_and_links_resolve(full_dir: Path) -> None:
    text, page = read_page(full_dir)
    assert_real_pngs(full_dir, page)
    assert len(page.images) == 9
    names = {Path(src).stem for src in page.images}
    assert {"funnel", "rejections", "caption_words", "image_sizes", "aspect_ratios", "sources", "queries",
            "duplicate_groups", "download_failures"} == names
    for href in page.links:
        assert href.startswith("#") and href[1:] in page.ids, href
    assert "http://" not in text.split("<main>")[0] and "<script" not in text.lower().split("<main>")[0]


def test_report_sections_hold_the_distributions(full_dir: Path) -> None:
    text, page = read_page(full_dir)
    checks = page.tables["checks"]
    assert set(checks) == {"balanced", "kept_rows", "rejected_rows", "candidate_rows", "manifest_rows",
                           "complete_shards", "shard_samples"}
    assert all(row[3] == "ok" for row in checks.values()), checks
    stages = page.tables["stages"]
    assert [stages[s][2] for s in ("crawl", "filter", "shard")] == ["yes", "yes", "yes"]
    data = load_report_data(full_dir)
    assert data.filtered is not None and data.crawl is not None
    hosts = page.tables["hosts"]
    host, row = next(iter(hosts.items()))
    assert int(row[2]) == sum(n for (h, _), n in data.filtered.failures.items() if h == host)
    assert sum(data.filtered.failures.values()) == sum(n for r, n in data.filtered.stats.rejected.items()
                                                     if step_of(r) == "download")
    # near-duplicate groups: one kept member plus the rejected members that name it
    sizes = page.tables["group-sizes"]
    assert int(sizes["total"][1]) == len(data.filtered.near_duplicates)
    assert sum(data.filtered.near_duplicates.values()) == data.filtered.stats.rejected["near_duplicate"]
    assert "top-queries" in page.tables and "bottom-queries" in page.tables
    assert "jieba words" in text and 'id="samples"' in text


def test_report_escapes_captions_and_queries(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    root = tmp_path / "d"
    write_synthetic_data_dir(root, rows=400, seed=1, stages=("crawl", "filter"))
    evil = "<script>alert('x')</script>&amp;<img src=x onerror=alert(1)>"
    part = sorted((root / "filtered" / "kept").glob("*.parquet"))[0]
    kept = pq.read_table(part)
    for column in ("caption", "query"):
        values = kept[column].to_pylist()
        values[0] = evil
        kept = kept.set_column(kept.schema.get_field_index(column), column, pa.array(values, pa.string()))
    pq.write_table(kept, part)
    build_report(root, Limits(captions=2000, examples=5), style=Style(None))
    text, page = read_page(root)
    assert text.count(SCRIPT) == 1  # the page's own search script, once; no other script anywhere
    assert "<script" not in text.replace(SCRIPT, "").lower() and "<img src=x" not in text
    assert html.escape(evil, quote=True) in text
    first_key = kept["key"][0].as_py()
    assert page.tables["samples"][first_key][1] == evil  # shown as text, not markup
    queries = {**page.tables["top-queries"], **page.tables.get("bottom-queries", {})}
    assert queries[evil][1] == evil


def test_report_with_only_candidates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "crawl-only"
    write_synthetic_data_dir(root, rows=500, seed=2, stages=("crawl",))
    assert main(["report", "--data-dir", str(root)]) == 0
    assert "stages not found yet: filter, shard" in capsys.readouterr().out
    text, page = read_page(root)
    assert_real_pngs(root, page)
    assert {Path(s).stem for s in page.images} == {"caption_words", "image_sizes", "aspect_ratios", "sources",
                                                   "queries"}
    stages = page.tables["stages"]
    assert stages["filter"][2] == "no" and "wukong filter" in stages["filter"][3]
    assert "Needs the filter stage" in text and "raw, before the text filters" in text
    assert "candidates" in page.tables["stages"]["crawl"][1]
    assert (root / "logs" / "report.log").is_file()
    crawl_stats = page.tables["crawl-stats-table"]  # one column per crawl_stats-<spider>.json
    assert sum(int(v) for v in crawl_stats["pairs"][1:]) == 500
    assert crawl_stats["errors/timeout"][1:] == ["3", "3"]


def test_report_with_release_only_and_rerun_drops_stale_plots(tmp_path: Path) -> None:
    root = tmp_path / "release-only"
    write_synthetic_data_dir(root, rows=300, seed=4, stages=("shard",))
    stale = root / "report" / "old_plot.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(PNG_MAGIC)
    result = build_report(root, style=Style(None))
    assert result.missing_stages == ["crawl", "filter"] and not stale.exists()
    text, page = read_page(root)
    assert page.images == [] and text.count('class="missing"') >= 5
    data = load_report_data(root)
    assert data.release is not None and data.release.manifest_rows > 0
    release = page.tables["release-table"]
    assert int(release["manifest_rows"][1]) == data.release.manifest_rows == int(release["shard_samples"][1])
    assert page.tables["checks"]["complete_shards"][3] == "ok"


def test_report_never_reads_image_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wukong.report.data as report_data

    root = tmp_path / "d"
    write_synthetic_data_dir(root, rows=300, seed=5, stages=("crawl", "filter"))
    seen: list[list[str] | None] = []
    real = report_data.read_parquet_checked

    def spy(path, schema, columns=None):  # type: ignore[no-untyped-def]
        seen.append(columns)
        return real(path, schema, columns)

    monkeypatch.setattr(report_data, "read_parquet_checked", spy)
    load_report_data(root, Limits(captions=50))
    assert seen and all(cols is not None and "image" not in cols for cols in seen)


def test_missing_data_dir_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "wukong.cli", "report", "--data-dir", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"wukong: error: data directory not found: {tmp_path / 'nope'}"]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_empty_or_malformed_data_dir_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("wukong: error: no stage output in")
    assert not (tmp_path / "logs").exists() and not (tmp_path / "report.html").exists()
    root = tmp_path / "bad"
    write_synthetic_data_dir(root, rows=200, seed=6, stages=("crawl", "filter"))
    (root / "filtered" / "stats.json").write_text("{not json", encoding="utf-8")
    assert main(["report", "--data-dir", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stats.json: not valid JSON" in err[0]
    (root / "filtered" / "stats.json").write_text('{"input": 1, "kept": 1, "rejected": {}}', encoding="utf-8")
    part = sorted((root / "filtered" / "kept").glob("*.parquet"))[0]
    part.write_bytes(b"not parquet")
    assert main(["report", "--data-dir", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable parquet file" in err[0]


def test_unbalanced_stats_are_flagged(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    root = tmp_path / "d"
    write_synthetic_data_dir(root, rows=300, seed=7, stages=("crawl", "filter"))
    stats_path = root / "filtered" / "stats.json"
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    stats["input"] += 5
    stats_path.write_text(json.dumps(stats), encoding="utf-8")
    (root / "candidates" / "crawl_stats_broken.json").write_text("[1, 2]", encoding="utf-8")
    build_report(root, style=Style(None))
    text, page = read_page(root)
    assert page.tables["checks"]["balanced"][3] == "MISMATCH" and page.tables["checks"]["kept_rows"][3] == "ok"
    assert "crawl_stats_broken.json: expected a JSON object" in text
    # without a CJK font no Chinese reaches a plot label (matplotlib would warn about missing glyphs)
    assert not [w for w in recwarn if "glyph" in str(w.message).lower()]
    assert "shows queries by rank" in text


def test_funnel_order_and_unknown_reasons() -> None:
    stats = FilterStats.from_dict({"input": 100, "kept": 40, "rejected": {
        "near_duplicate": 5, "http_404": 3, "http_403": 4, "timeout": 2, "too_short": 6, "frequent_caption": 7,
        "duplicate_url": 8, "too_small": 9, "duplicate_image": 10, "weird_new_reason": 1, "placeholder": 5}})
    assert ordered_reasons(stats) == ["placeholder", "too_short", "frequent_caption", "duplicate_url", "timeout",
                                      "http_403", "http_404", "too_small", "duplicate_image", "near_duplicate",
                                      "weird_new_reason"]
    rows = funnel_rows(stats, released=39)
    assert [r.name for r in rows] == ["input", "text", "frequent_caption", "url", "download", "image",
                                      "duplicate_image", "near_duplicate", "other", "kept", "released"]
    assert rows[-3].remaining == 40 and rows[-1].removed == 1
    assert step_of("http_418") == "download" and step_of("sensitive") == "text"


def test_funnel_counts_opt_out_and_contaminated() -> None:
    """The consent reasons are steps of their own in pipeline order, never lumped into `other`."""
    stats = FilterStats.from_dict({"input": 50, "kept": 30, "rejected": {
        "contaminated": 2, "opt_out": 7, "near_duplicate": 1, "timeout": 4, "duplicate_url": 6}})
    assert ordered_reasons(stats) == ["duplicate_url", "opt_out", "timeout", "near_duplicate", "contaminated"]
    rows = funnel_rows(stats)
    assert [(r.name, r.removed, r.remaining) for r in rows] == [
        ("input", 0, 50), ("url", 6, 44), ("opt_out", 7, 37), ("download", 4, 33), ("near_duplicate", 1, 32),
        ("contaminated", 2, 30), ("kept", 0, 30)]
    assert step_of("opt_out") == "opt_out" and step_of("contaminated") == "contaminated"


def test_hosts_of_urls() -> None:
    import pyarrow as pa

    from wukong.report.data import NO_HOST, hosts_of

    urls = pa.array(["https://IMG.Example.com:8080/a.jpg", "http://u:p@cdn.test/x", "not a url", None, "//x/y",
                     "http://[::1]/a"])
    assert hosts_of(urls).to_pylist() == ["img.example.com", "cdn.test", NO_HOST, NO_HOST, NO_HOST, "[::1]"]


def test_plots_without_a_cjk_font_keep_chinese_out_of_labels() -> None:
    style = Style(None)
    assert style.label("猫", "#1") == "#1" and style.label("img.example", "#2") == "img.example"
    assert Style("Some CJK").label("猫", "#1") == "猫"


def test_synthetic_generator_cli(tmp_path: Path) -> None:
    from wukong.report.synthetic import main as synth

    assert synth([str(tmp_path / "s"), "--rows", "100", "--stages", "crawl"]) == 0
    assert list((tmp_path / "s" / "candidates").glob("*.parquet"))
    shutil.rmtree(tmp_path / "s")


def test_report_of_a_data_dir_on_s3(tmp_path: Path, s3_server, capsys: pytest.CaptureFixture[str]) -> None:
    """A data dir on object storage (moto on 127.0.0.1): read there, report.html and PNGs uploaded there,
    the same plots and numbers as for the local copy."""
    local = tmp_path / "data"
    write_synthetic_data_dir(local, rows=400, seed=5, stages=("crawl", "filter"))
    fs = s3_server.filesystem()
    bucket = s3_server.new_bucket()
    fs.put(str(local) + "/", f"{bucket}/data/", recursive=True)
    args = ["--quiet", "report", "--data-dir", f"s3://{bucket}/data", "--caption-sample", "200"]
    for s in s3_server.config_overrides():
        args += ["--set", s]
    assert main(args) == 0
    assert f"report: s3://{bucket}/data/report.html" in capsys.readouterr().out
    assert main(["--quiet", "report", "--data-dir", str(local), "--caption-sample", "200"]) == 0
    remote_pngs = sorted(p.rsplit("/", 1)[1] for p in fs.glob(f"{bucket}/data/report/*.png"))
    assert remote_pngs == sorted(p.name for p in (local / "report").glob("*.png")) and len(remote_pngs) >= 5
    for name in remote_pngs:
        assert fs.cat(f"{bucket}/data/report/{name}")[:8] == b"\x89PNG\r\n\x1a\n"
    page = fs.cat(f"{bucket}/data/report.html").decode("utf-8")
    kept = json.loads((local / "filtered" / "stats.json").read_text())["kept"]
    assert f"{kept:,}" in page and f"s3://{bucket}/data" in page
