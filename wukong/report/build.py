"""`build_report`: loads a data directory, draws the plots, writes `DIR/report.html`, `DIR/report/*.png` and
the sample thumbnails `DIR/report/samples/*.jpg`."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from manifests.layout import DataDir
from manifests.parquet_io import write_bytes_atomic
from manifests.storage import DataPath, is_remote, local_cache_dir, upload
from wukong import __version__
from wukong.report import sections as sec
from wukong.report.data import Limits, ReportData, load_report_data
from wukong.report.fonts import cjk_font_family
from wukong.report.page import Section, render_page
from wukong.report.plots import Style
from wukong.report.sample_sections import sample_sections
from wukong.report.samples import SampleLimits, SampleSet, load_samples
from wukong.report.thumbs import SAMPLES_DIR, ThumbWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReportResult:
    html: DataPath
    images: list[DataPath]
    missing_stages: list[str]
    seconds: float
    thumbnails: list[DataPath]


def _cards(data: ReportData) -> list[tuple[str, str]]:
    cards: list[tuple[str, str]] = []
    if data.crawl is not None:
        cards.append(("candidates crawled", f"{data.crawl.rows:,}"))
    if data.filtered is not None:
        s = data.filtered.stats
        cards += [("filter input", f"{s.input:,}"), ("kept", f"{s.kept:,}"),
                  ("kept of input", f"{100 * s.kept / s.input:.1f}%" if s.input else "-")]
    if data.release is not None:
        cards += [("released", f"{data.release.manifest_rows:,}"), ("shards", f"{data.release.shard_tars:,}")]
    return cards


def _clear_old_plots(assets: DataPath) -> None:
    """report/ holds only this report's PNGs and thumbnails: those of an earlier run that this one does not
    draw go."""
    if assets.is_dir():
        for old in assets.glob("*.png"):
            old.unlink()
    if (assets / SAMPLES_DIR).is_dir():
        for old in (assets / SAMPLES_DIR).glob("*.jpg"):
            old.unlink()


def _samples(data: ReportData, limits: SampleLimits) -> SampleSet:
    if limits.kept <= 0:
        return SampleSet()
    target = DataDir(data.root)
    stats = data.filtered.stats if data.filtered is not None else None
    near = data.filtered.near_duplicates if data.filtered is not None else Counter()
    return load_samples(target.filtered, target.release, stats, near, limits)


def build_report(data_dir: str | DataPath, limits: Limits | None = None,
                 style: Style | None = None) -> ReportResult:
    """Writes `DIR/report.html` and its PNGs in `DIR/report/` from whatever stages exist under `data_dir`.

    A data directory on object storage is read there; the report is drawn in a local folder, then
    uploaded beside the stages (each file whole).
    Raises UserError when `data_dir` is missing or holds no stage output, or a stage's files are malformed.
    """
    started = time.perf_counter()
    data = load_report_data(data_dir, limits)
    target = DataDir(data.root)
    layout = DataDir(local_cache_dir(data.root, "report")) if is_remote(data.root) else target
    style = style if style is not None else Style(cjk_font_family())
    # The samples read the kept parts and release shards: a malformed one is an error before any file of
    # the report folder is replaced (or any plot drawn).
    sample_limits = SampleLimits(kept=limits.samples if limits is not None else Limits().samples)
    samples = _samples(data, sample_limits)
    _clear_old_plots(layout.report_assets)
    layout.report_assets.mkdir(parents=True, exist_ok=True)
    plotter = sec.Plotter(layout.report_assets, style)
    thumbs = ThumbWriter(layout.report_assets)
    sections: list[Section] = [
        sec.overview_section(data),
        sec.funnel_section(data, plotter),
        sec.rejections_section(data, plotter),
        sec.captions_section(data, plotter),
        sec.images_section(data, plotter),
        sec.sources_section(data, plotter),
        sec.queries_section(data, plotter),
        sec.duplicates_section(data, plotter),
        sec.downloads_section(data, plotter),
        sec.release_section(data),
        *sample_sections(data, samples, sample_limits, thumbs),
    ]
    crawl_stats = sec.crawl_stats_section(data)
    if crawl_stats is not None:
        sections.append(crawl_stats)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    shown = data.root if is_remote(data.root) else data.root.resolve()
    page = render_page("Wukong dataset report", f"{shown} · generated {generated} · wukong "
                       f"{__version__}", _cards(data), sections, data.warnings)
    write_bytes_atomic(page.encode("utf-8"), layout.report_html)
    images: list[DataPath] = list(plotter.written)
    thumbnails: list[DataPath] = list(thumbs.written)
    if target != layout:
        _clear_old_plots(target.report_assets)
        images = [target.report_assets / p.name for p in plotter.written]
        thumbnails = [target.report_assets / SAMPLES_DIR / p.name for p in thumbs.written]
        for local, remote in zip([*plotter.written, *thumbs.written], [*images, *thumbnails], strict=True):
            upload(local, remote)
        upload(layout.report_html, target.report_html)
    missing = [s.name for s in data.stages if not s.present]
    seconds = time.perf_counter() - started
    log.debug("report: %s with %d plots and %d thumbnails in %.1fs", target.report_html, len(images),
              len(thumbnails), seconds)
    return ReportResult(target.report_html, images, missing, seconds, thumbnails)
