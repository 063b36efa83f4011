"""The report's samples sections: a grid of kept pairs (thumbnails <= 256 px that decode, captions,
sources, sizes), a few rejected pairs per reason, near-duplicate groups side by side with
`data-group`; from kept parts or, without them, from the release's shards; deterministic; and a
section that says what is missing when a stage has not run.

Synthetic data dirs (wukong.report.synthetic) for the fast checks; the demo pipeline's real output
(the `demo_run` fixture) for thumbnails of rejected duplicates and near-duplicate groups, whose bytes
only a real filter run leaves (filtered/_work/).
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from manifests.stats import FilterStats
from wukong.cli import main
from wukong.report import Limits, build_report
from wukong.report.plots import Style
from wukong.report.synthetic import write_synthetic_data_dir
from wukong.report.thumbs import MAX_SIDE

MAX_PAGE_BYTES = 10 * 2**20


@dataclass(slots=True)
class Tile:
    gallery: str
    key: str | None
    caption: str
    group: str | None
    kept: bool
    src: str | None = None
    img_group: str | None = None
    details: list[str] = field(default_factory=list)


class Samples(HTMLParser):
    """Every tile (`figure.tile`) with its gallery id, attributes, thumbnail and detail lines; the search box."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tiles: list[Tile] = []
        self.search_boxes: list[dict[str, str | None]] = []
        self.reasons: dict[str, str] = {}  # gallery id -> data-reason
        self.section_text: dict[str, list[str]] = {}
        self._gallery = ""
        self._section = ""
        self._detail: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "section":
            self._section = a.get("id") or ""
        elif tag == "div" and "gallery" in classes:
            self._gallery = a.get("id") or ""
            if a.get("data-reason"):
                self.reasons[self._gallery] = a["data-reason"] or ""
        elif tag == "figure" and "tile" in classes:
            self.tiles.append(Tile(self._gallery, a.get("data-key"), a.get("data-caption") or "", a.get("data-group"),
                                   a.get("data-kept") == "1"))
        elif tag == "img" and "thumb" in classes and self.tiles:
            self.tiles[-1].src, self.tiles[-1].img_group = a.get("src"), a.get("data-group")
        elif tag == "p" and "d" in classes:
            self._detail = []
        elif tag == "input" and a.get("data-filter"):
            self.search_boxes.append(a)

    def handle_data(self, data: str) -> None:
        if self._detail is not None:
            self._detail.append(data)
        self.section_text.setdefault(self._section, []).append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self._detail is not None:
            if self.tiles:
                self.tiles[-1].details.append("".join(self._detail))
            self._detail = None

    def text(self, section: str) -> str:
        return " ".join(self.section_text.get(section, []))

    def grid(self, gallery: str) -> list[Tile]:
        return [t for t in self.tiles if t.gallery == gallery]


def read_samples(root: Path) -> Samples:
    return Samples((root / "report.html").read_text(encoding="utf-8"))


def assert_thumbnail(root: Path, src: str) -> tuple[int, int]:
    """A JPEG under report/samples/ that decodes fully, at most MAX_SIDE px on its longer side."""
    assert src.startswith("report/samples/") and src.endswith(".jpg"), src
    data = (root / src).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        image.load()
        assert 0 < max(image.size) <= MAX_SIDE, (src, image.size)
        return image.size


def kept_rows(root: Path) -> dict[str, dict[str, object]]:
    parts = sorted((root / "filtered" / "kept").glob("*.parquet"))
    table = pa.concat_tables(pq.read_table(p, columns=["key", "caption", "source", "query", "width", "height"])
                             for p in parts)
    return {row["key"]: row for row in table.to_pylist()}


def page_bytes(root: Path) -> int:
    return (root / "report.html").stat().st_size + sum(p.stat().st_size for p in (root / "report").rglob("*")
                                                       if p.is_file())


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("samples") / "d"
    write_synthetic_data_dir(root, rows=1500, seed=9)
    build_report(root, style=Style(None))
    return root


def test_kept_grid_shows_60_decodable_thumbnails_with_caption_source_and_size(synthetic: Path) -> None:
    page = read_samples(synthetic)
    grid = page.grid("kept-grid")
    rows = kept_rows(synthetic)
    assert len(grid) == 60 and len({t.key for t in grid}) == 60
    for tile in grid:
        row = rows[tile.key or ""]
        assert tile.caption == row["caption"] and tile.caption
        assert tile.src is not None
        assert_thumbnail(synthetic, tile.src)
        source = f"{row['source']} · {row['query']}" if row["query"] else row["source"]
        assert tile.details == [source, f"{row['width']}x{row['height']}"]
    assert [b.get("data-filter") for b in page.search_boxes] == ["kept-grid"]
    assert "60 of " in page.text("samples-kept") and f"{len(rows):,} kept pairs" in page.text("samples-kept")


def test_samples_are_deterministic_and_the_flag_sets_their_number(synthetic: Path, tmp_path: Path) -> None:
    copy = tmp_path / "d"
    shutil.copytree(synthetic, copy)
    build_report(copy, Limits(captions=200), style=Style(None))
    assert [t.key for t in read_samples(copy).grid("kept-grid")] == [t.key for t in read_samples(synthetic)
                                                                   .grid("kept-grid")]
    assert main(["-q", "report", "--data-dir", str(copy), "--caption-sample", "200", "--samples", "7"]) == 0
    page = read_samples(copy)
    assert len(page.grid("kept-grid")) == 7
    assert len(list((copy / "report" / "samples").glob("*.jpg"))) == len({t.src for t in page.tiles if t.src})
    assert main(["-q", "report", "--data-dir", str(copy), "--caption-sample", "200", "--samples", "0"]) == 0
    page = read_samples(copy)
    assert page.tiles == [] and not list((copy / "report" / "samples").glob("*.jpg"))
    assert "Samples are off" in page.text("samples-kept")
    assert main(["-q", "report", "--data-dir", str(copy), "--samples", "-1"]) == 2


def test_rejected_examples_per_reason_without_stored_bytes(synthetic: Path) -> None:
    page = read_samples(synthetic)
    stats = FilterStats.load(synthetic / "filtered" / "stats.json")
    shown = {reason: [t for t in page.tiles if t.gallery == gallery] for gallery, reason in page.reasons.items()}
    assert set(shown) == set(stats.rejected)
    for reason, tiles in shown.items():
        assert len(tiles) == min(4, stats.rejected[reason]), reason
        assert all(t.details and t.details[0].startswith(reason) for t in tiles)
    # The synthetic filter output has no work files: no rejected image has bytes, and the page says why.
    assert all(t.src is None for tiles in shown.values() for t in tiles)
    assert "filtered/_work/ is gone" in page.text("samples-rejected")
    groups = [t for t in page.tiles if t.group is not None]
    assert groups and all(t.group == t.img_group for t in groups if t.kept)  # kept members come from kept parts


def test_release_only_samples_come_from_the_shards(tmp_path: Path) -> None:
    root = tmp_path / "release-only"
    write_synthetic_data_dir(root, rows=300, seed=4, stages=("shard",))
    build_report(root, style=Style(None))
    page = read_samples(root)
    grid = page.grid("kept-grid")
    assert len(grid) == 60 and all(t.src for t in grid)
    for tile in grid:
        assert_thumbnail(root, tile.src or "")
        assert tile.details[0].startswith("shard ")
    assert "release shards" in page.text("samples-kept")
    assert "Needs the filter stage" in page.text("samples-rejected")


def test_crawl_only_says_what_is_missing(tmp_path: Path) -> None:
    root = tmp_path / "crawl-only"
    write_synthetic_data_dir(root, rows=300, seed=2, stages=("crawl",))
    build_report(root, Limits(captions=500), style=Style(None))
    page = read_samples(root)
    assert page.tiles == [] and not (root / "report" / "samples").exists()
    assert "Needs kept pairs" in page.text("samples-kept")
    assert "Needs the filter stage" in page.text("samples-groups")


@pytest.mark.slow
def test_demo_report_shows_duplicates_and_groups_with_their_images(demo_run: tuple[Path, int]) -> None:
    root, _ = demo_run
    page = read_samples(root)
    stats = FilterStats.load(root / "filtered" / "stats.json")
    grid = page.grid("kept-grid")
    assert len(grid) == 60 and all(t.src for t in grid)
    sizes = [assert_thumbnail(root, t.src or "") for t in grid]
    assert max(max(s) for s in sizes) == MAX_SIDE  # demo images are larger: they were shrunk
    # every reason has examples; the duplicates' images come back from the filter's work files
    shown = {reason: [t for t in page.tiles if t.gallery == gallery] for gallery, reason in page.reasons.items()}
    assert set(shown) == set(stats.rejected)
    for reason in ("duplicate_image", "near_duplicate"):
        assert shown[reason] and all(t.src for t in shown[reason]), reason
        for tile in shown[reason]:
            assert_thumbnail(root, tile.src or "")
    assert all(t.src is None for reason in ("too_small", "bad_aspect", "http_404") for t in shown[reason])
    # near-duplicate groups: the kept member first and marked, every image tagged with its group id
    groups: dict[str, list[Tile]] = {}
    for tile in page.tiles:
        if tile.group is not None:
            groups.setdefault(tile.group, []).append(tile)
    rejected = pa.concat_tables(pq.read_table(p, columns=["reason", "detail"])
                                for p in sorted((root / "filtered" / "rejected").glob("*.parquet")))
    near = {d for r, d in zip(rejected["reason"].to_pylist(), rejected["detail"].to_pylist(), strict=True)
            if r == "near_duplicate"}
    assert set(groups) <= near and len(groups) == min(12, len(near)) >= 3
    kept = kept_rows(root)
    for group_id, tiles in groups.items():
        assert tiles[0].kept and tiles[0].key == group_id and group_id in kept
        assert len(tiles) >= 2 and not any(t.kept for t in tiles[1:])
        assert all(t.src and t.img_group == group_id for t in tiles)
        assert all(t.details[0] == "near_duplicate" for t in tiles[1:])
    assert page_bytes(root) < MAX_PAGE_BYTES


def test_a_kept_part_without_image_bytes_is_a_one_line_error(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "d"
    write_synthetic_data_dir(root, rows=300, seed=5, stages=("crawl", "filter"))
    part = sorted((root / "filtered" / "kept").glob("*.parquet"))[0]
    table = pq.read_table(part)
    pq.write_table(table.drop_columns(["image"]), part)
    assert main(["-q", "report", "--data-dir", str(root), "--caption-sample", "200"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot read rows of columns" in err[0] and "image" in err[0]
    assert not (root / "report.html").exists() and not (root / "report").exists()  # found before anything is written
    assert main(["-q", "report", "--data-dir", str(root), "--caption-sample", "200", "--samples", "0"]) == 0
