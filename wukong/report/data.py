"""Reads what the stages left in a data directory into small summaries for the report.

Every stage is optional: a summary is `None` when its stage has not run. Parquet parts are read
one at a time with column projection (the kept parts' `image` column is never read); counts are
exact, while the distributions (captions, image sizes) use an evenly spaced sample of the rows.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from manifests import reasons as r
from manifests.errors import UserError
from manifests.layout import DataDir, FilteredDir, ReleaseDir
from manifests.parquet_io import count_rows, list_parts, read_parquet_checked
from manifests.schemas import CANDIDATE, MANIFEST, REJECTED, SAMPLE
from manifests.stats import FilterStats
from manifests.storage import DataPath, as_path
from wukong.report.funnel import DOWNLOAD_REASONS, STEP_NAMES, STEPS

# Rows that reached the download step: rejected there or later, or kept.
_AT_OR_AFTER_DOWNLOAD: frozenset[str] = frozenset(
    reason for step in STEPS[STEP_NAMES.index("download"):] for reason in step.reasons
)
_HOST_PATTERN = r"^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/?#]*@)?(?P<host>\[[^\]]*\]|[^/:?#]+)"
NO_HOST = "(no host)"
NO_QUERY = "(no query)"
NO_CATEGORY = "(no category)"


@dataclass(frozen=True, slots=True)
class Limits:
    """Sample sizes: the distributions read at most this many evenly spaced rows; `samples` kept pairs are
    shown as thumbnails (0: no thumbnails at all)."""

    captions: int = 20_000
    dimensions: int = 1_000_000
    examples: int = 30
    samples: int = 60


@dataclass(slots=True)
class StageStatus:
    """Whether a stage's output exists, where, and a one-line note (its size, or how to produce it)."""

    name: str
    path: DataPath
    present: bool
    note: str


@dataclass(slots=True)
class CrawlSummary:
    parts: int = 0
    rows: int = 0
    per_source: Counter[str] = field(default_factory=Counter)
    per_query: Counter[str] = field(default_factory=Counter)
    caption_sources: Counter[str] = field(default_factory=Counter)
    captions: list[str] = field(default_factory=list)
    widths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    heights: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    crawl_stats: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass(slots=True)
class FilterSummary:
    stats: FilterStats
    kept_parts: int = 0
    kept_rows: int = 0
    rejected_parts: int = 0
    rejected_rows: int = 0
    per_source: Counter[str] = field(default_factory=Counter)
    per_query: Counter[str] = field(default_factory=Counter)
    captions: list[str] = field(default_factory=list)
    widths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    heights: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    examples: list[dict[str, Any]] = field(default_factory=list)
    near_duplicates: Counter[str] = field(default_factory=Counter)  # kept key -> members removed
    exact_duplicates: Counter[str] = field(default_factory=Counter)
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)  # (host, reason) -> n
    attempts: Counter[str] = field(default_factory=Counter)  # host -> pairs that reached download
    sensitive_categories: Counter[str] = field(default_factory=Counter)  # lexicon category -> `sensitive` pairs


@dataclass(slots=True)
class ReleaseSummary:
    manifest_parts: int = 0
    manifest_rows: int = 0
    shard_tars: int = 0
    shard_stats: int = 0
    shard_samples: int = 0
    image_bytes: int = 0
    tar_bytes: int = 0
    has_checksums: bool = False


@dataclass(slots=True)
class ReportData:
    root: DataPath
    stages: list[StageStatus]
    crawl: CrawlSummary | None
    filtered: FilterSummary | None
    release: ReleaseSummary | None
    warnings: list[str] = field(default_factory=list)


def stride_for(total: int, cap: int) -> int:
    """Every `stride`-th row gives at most about `cap` rows of `total`."""
    return max(1, math.ceil(total / cap)) if cap > 0 else max(1, total + 1)


def _sample_positions(offset: int, n: int, stride: int) -> np.ndarray:
    """Positions in a part of `n` rows starting at global row `offset` whose global index is a multiple of stride."""
    return np.arange((-offset) % stride, n, stride)


def value_counts(array: pa.ChunkedArray | pa.Array, null_label: str | None = None) -> Counter[str]:
    """Counts of each value; nulls count under `null_label` (or are dropped when it is None)."""
    counts: Counter[str] = Counter()
    for item in pc.value_counts(array).to_pylist():
        value = item["values"]
        if value is None:
            if null_label is None:
                continue
            value = null_label
        counts[value] += item["counts"]
    return counts


def hosts_of(urls: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The lower-cased host of each URL (`(no host)` where there is none)."""
    if isinstance(urls, pa.ChunkedArray):
        urls = urls.combine_chunks()
    if len(urls) == 0:
        return pa.array([], pa.string())
    matched = pc.extract_regex(urls, _HOST_PATTERN)
    hosts = pc.utf8_lower(pc.struct_field(matched, "host"))
    hosts = pc.if_else(pc.and_(pc.is_valid(matched), pc.not_equal(hosts, "")), hosts, pa.scalar(NO_HOST))
    return pc.fill_null(hosts, NO_HOST)


def _rows(parts: list[DataPath]) -> int:
    """Rows in `parts`, from the parquet footers; an unreadable part is a UserError."""
    total = 0
    for part in parts:
        try:
            total += count_rows(part)
        except (pa.ArrowInvalid, OSError) as exc:
            raise UserError(f"{part}: not a readable parquet file ({str(exc).splitlines()[0]})") from None
    return total


def _parts(directory: DataPath) -> list[DataPath]:
    return list_parts(directory) if directory.is_dir() else []


def _iter_parts(parts: list[DataPath], schema: pa.Schema, columns: list[str], what: str,
                ) -> Iterator[tuple[int, pa.Table]]:
    """(global row offset, projected table) per part, with a progress bar on a terminal (not with --quiet)."""
    quiet = logging.getLogger().getEffectiveLevel() > logging.INFO
    offset = 0
    for part in tqdm(parts, desc=f"report: {what}", unit="part", disable=True if quiet else None, leave=False):
        table = read_parquet_checked(part, schema, columns)
        yield offset, table
        offset += table.num_rows


def _read_json(path: DataPath, warnings: list[str]) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        warnings.append(f"{path.name}: not readable JSON ({exc.__class__.__name__}); skipped")
        return None
    if not isinstance(data, dict):
        warnings.append(f"{path.name}: expected a JSON object; skipped")
        return None
    return data


def _int_array(column: pa.ChunkedArray, positions: np.ndarray) -> np.ndarray:
    values = column.take(pa.array(positions, pa.int64())) if len(positions) else column.slice(0, 0)
    values = pc.drop_null(values)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)


def load_crawl(directory: DataPath, limits: Limits, warnings: list[str]) -> CrawlSummary | None:
    parts = _parts(directory)
    stats_files = sorted(directory.glob("crawl_stats*.json")) if directory.is_dir() else []
    if not parts and not stats_files:
        return None
    summary = CrawlSummary(parts=len(parts))
    total = _rows(parts)
    cap_stride = stride_for(total, limits.captions)
    dim_stride = stride_for(total, limits.dimensions)
    widths: list[np.ndarray] = []
    heights: list[np.ndarray] = []
    columns = ["caption", "caption_source", "query", "source", "width_hint", "height_hint"]
    for offset, table in _iter_parts(parts, CANDIDATE, columns, "candidates"):
        summary.rows += table.num_rows
        summary.per_source.update(value_counts(table["source"], "(no source)"))
        summary.per_query.update(value_counts(table["query"], NO_QUERY))
        summary.caption_sources.update(value_counts(table["caption_source"], "(none)"))
        pos = _sample_positions(offset, table.num_rows, cap_stride)
        summary.captions.extend(c for c in table["caption"].take(pa.array(pos, pa.int64())).to_pylist() if c)
        pos = _sample_positions(offset, table.num_rows, dim_stride)
        both = table.select(["width_hint", "height_hint"]).take(pa.array(pos, pa.int64())).drop_null()
        widths.append(np.asarray(both["width_hint"].to_numpy(), dtype=np.int64))
        heights.append(np.asarray(both["height_hint"].to_numpy(), dtype=np.int64))
    if widths:
        summary.widths, summary.heights = np.concatenate(widths), np.concatenate(heights)
    for path in stats_files:
        data = _read_json(path, warnings)
        if data is not None:
            summary.crawl_stats.append((path.name, data))
    return summary


def _add_groups(counter: Counter[str], rejected: pa.Table, reason: str) -> None:
    details = rejected.filter(pc.equal(rejected["reason"], reason))["detail"]
    counter.update(value_counts(details, "(unknown)"))


def sensitive_categories(rejected: pa.Table) -> Counter[str]:
    """`sensitive` rejections by the category their detail names (`gambling:百家乐` -> gambling); a detail
    without a category (written before the lexicon had categories) counts as `(no category)`."""
    details = rejected.filter(pc.equal(rejected["reason"], r.SENSITIVE))["detail"]
    if len(details) == 0:
        return Counter()
    details = pc.fill_null(details, "")
    named = pc.match_substring(details, ":")
    first = pc.list_element(pc.split_pattern(details, ":", max_splits=1), 0)
    return value_counts(pc.if_else(named, first, pa.scalar(NO_CATEGORY)))


def load_filtered(directory: DataPath, limits: Limits, warnings: list[str]) -> FilterSummary | None:
    fdir = FilteredDir(directory)
    if not fdir.stats.is_file():
        return None
    summary = FilterSummary(stats=FilterStats.load(fdir.stats))
    kept_parts, rejected_parts = _parts(fdir.kept), _parts(fdir.rejected)
    summary.kept_parts, summary.rejected_parts = len(kept_parts), len(rejected_parts)
    total = _rows(kept_parts)
    cap_stride = stride_for(total, limits.captions)
    dim_stride = stride_for(total, limits.dimensions)
    ex_stride = stride_for(total, limits.examples)
    widths: list[np.ndarray] = []
    heights: list[np.ndarray] = []
    columns = ["key", "url", "caption", "caption_raw", "query", "source", "width", "height"]  # never `image`
    for offset, table in _iter_parts(kept_parts, SAMPLE, columns, "kept"):
        summary.kept_rows += table.num_rows
        summary.per_source.update(value_counts(table["source"], "(no source)"))
        summary.per_query.update(value_counts(table["query"], NO_QUERY))
        summary.attempts.update(value_counts(hosts_of(table["url"])))
        pos = _sample_positions(offset, table.num_rows, cap_stride)
        summary.captions.extend(c for c in table["caption"].take(pa.array(pos, pa.int64())).to_pylist() if c)
        pos = _sample_positions(offset, table.num_rows, dim_stride)
        widths.append(_int_array(table["width"], pos))
        heights.append(_int_array(table["height"], pos))
        pos = _sample_positions(offset, table.num_rows, ex_stride)
        rows = table.select(["key", "caption", "caption_raw", "query", "source", "width", "height"])
        summary.examples.extend(rows.take(pa.array(pos, pa.int64())).to_pylist())
    summary.examples = summary.examples[: limits.examples]
    if widths:
        summary.widths, summary.heights = np.concatenate(widths), np.concatenate(heights)
    reached = pa.array(sorted(_AT_OR_AFTER_DOWNLOAD), pa.string())
    for _, table in _iter_parts(rejected_parts, REJECTED, ["url", "reason", "detail"], "rejected"):
        summary.rejected_rows += table.num_rows
        _add_groups(summary.near_duplicates, table, r.NEAR_DUPLICATE)
        _add_groups(summary.exact_duplicates, table, r.DUPLICATE_IMAGE)
        summary.sensitive_categories.update(sensitive_categories(table))
        reason = table["reason"]
        is_http = pc.starts_with(pc.fill_null(reason, ""), "http_")
        failed = pc.or_(pc.is_in(reason, value_set=pa.array(DOWNLOAD_REASONS, pa.string())), is_http)
        failed = pc.fill_null(failed, False)
        later = pc.fill_null(pc.or_(pc.is_in(reason, value_set=reached), is_http), False)
        summary.attempts.update(value_counts(hosts_of(table.filter(later)["url"])))
        failures = table.filter(failed)
        if failures.num_rows:
            pairs = pa.table({"host": hosts_of(failures["url"]), "reason": failures["reason"]})
            grouped = pairs.group_by(["host", "reason"]).aggregate([([], "count_all")])
            for row in grouped.to_pylist():
                summary.failures[(row["host"], row["reason"])] += row["count_all"]
    return summary


def _release_stats(shards: DataPath, summary: ReleaseSummary, warnings: list[str]) -> None:
    for path in sorted(shards.glob("*_stats.json")):
        data = _read_json(path, warnings)
        if data is None:
            continue
        summary.shard_stats += 1
        values = {}
        for name in ("count", "image_bytes", "tar_bytes"):
            value = data.get(name, 0)
            if not isinstance(value, int) or isinstance(value, bool):
                warnings.append(f"{path.name}: `{name}` is not an integer; counted as 0")
                value = 0
            values[name] = value
        summary.shard_samples += values["count"]
        summary.image_bytes += values["image_bytes"]
        summary.tar_bytes += values["tar_bytes"]


def load_release(directory: DataPath, warnings: list[str]) -> ReleaseSummary | None:
    rdir = ReleaseDir(directory)
    parts = _parts(rdir.manifests)
    if not parts:
        return None
    summary = ReleaseSummary(manifest_parts=len(parts))
    for part in parts:
        read_parquet_checked(part, MANIFEST, ["key"])  # checks the file and its schema (one small column)
        summary.manifest_rows += _rows([part])
    if rdir.shards.is_dir():
        summary.shard_tars = len(list(rdir.shards.glob("*.tar")))
        _release_stats(rdir.shards, summary, warnings)
    summary.has_checksums = rdir.checksums.is_file()
    return summary


def _stage_statuses(data: DataDir, crawl: CrawlSummary | None, filtered: FilterSummary | None,
                    release: ReleaseSummary | None) -> list[StageStatus]:
    crawl_note = (f"{crawl.rows:,} candidate pairs in {crawl.parts} part(s)" if crawl is not None
                  else f"missing: run `wukong crawl ... --out {data.candidates}`")
    if filtered is not None:
        filter_note = f"{filtered.stats.kept:,} of {filtered.stats.input:,} pairs kept"
    elif data.filtered.is_dir():
        filter_note = "incomplete: filtered/ exists but has no stats.json (the filter has not finished)"
    else:
        filter_note = f"missing: run `wukong filter --in {data.candidates} --out {data.filtered}`"
    if release is not None:
        shard_note = f"{release.manifest_rows:,} pairs in {release.shard_tars} shard(s)"
    else:
        shard_note = f"missing: run `wukong shard --in {data.filtered} --out {data.release}`"
    return [
        StageStatus("crawl", data.candidates, crawl is not None, crawl_note),
        StageStatus("filter", data.filtered, filtered is not None, filter_note),
        StageStatus("shard", data.release, release is not None, shard_note),
    ]


def load_report_data(root: str | DataPath, limits: Limits | None = None) -> ReportData:
    """Summarises every stage found under `root` (a folder or an object-storage URL); a missing root or
    no stage at all is a UserError."""
    data = DataDir(as_path(root))
    if not data.root.exists():
        raise UserError(f"data directory not found: {data.root}")
    if not data.root.is_dir():
        raise UserError(f"not a directory: {data.root}")
    limits = limits or Limits()
    warnings: list[str] = []
    crawl = load_crawl(data.candidates, limits, warnings)
    filtered = load_filtered(data.filtered, limits, warnings)
    release = load_release(data.release, warnings)
    if crawl is None and filtered is None and release is None:
        raise UserError(f"no stage output in {data.root}: expected candidates/, filtered/stats.json "
                        "or release/manifests/ (run `wukong crawl` first)")
    return ReportData(data.root, _stage_statuses(data, crawl, filtered, release), crawl, filtered, release, warnings)
