"""The report's sections: for each, the numbers (tables) and the plots drawn from the same numbers.

Each `*_section` function takes the loaded `ReportData`, writes its PNGs into the assets folder
through `Plotter`, and returns a `Section`; a section whose stage has not run says which to run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wukong.report import plots
from wukong.report.captions import word_counts
from wukong.report.data import NO_QUERY, ReportData
from wukong.report.funnel import STEPS, funnel_rows, reason_rows
from wukong.report.page import Image, Percent, Section, Table

_STEP_LABELS = {s.name: s.label for s in STEPS}
NEEDS_FILTER = "Needs the filter stage (filtered/stats.json): run `wukong filter`."
TOP_QUERIES = 20
TOP_HOSTS = 20


@dataclass(slots=True)
class Plotter:
    """Draws plots into `assets` and hands back `Image`s linked relative to report.html."""

    assets: Path
    style: plots.Style
    written: list[Path] = field(default_factory=list)

    def draw(self, name: str, alt: str, draw: Callable[..., Path], *args: Any, **kwargs: Any) -> Image:
        path = draw(*args, self.assets / f"{name}.png", self.style, **kwargs)
        self.written.append(path)
        return Image(f"{self.assets.name}/{path.name}", alt)


def pct(n: int, total: int) -> Percent:
    return Percent(100.0 * n / total if total else 0.0)


def _quantiles(values: np.ndarray) -> list[int | float | None]:
    if not len(values):
        return [None] * 5
    qs = [float(q) for q in np.percentile(values, [0, 5, 50, 95, 100])]
    return [int(q) if q.is_integer() else round(q, 2) for q in qs]


def overview_section(data: ReportData) -> Section:
    stages = Table(["stage", "output", "found", "note"],
                   [[s.name, str(s.path), s.present, s.note] for s in data.stages], title="Stages",
                   table_id="stages", row_keys=[s.name for s in data.stages])
    checks = consistency_checks(data)
    check_table = Table(["check", "expected", "found", "ok"],
                        [[name, expected, found, "ok" if expected == found else "MISMATCH"]
                         for _, name, expected, found in checks],
                        title="Consistency checks", table_id="checks", row_keys=[c[0] for c in checks])
    missing = [s.name for s in data.stages if not s.present]
    intro = ("Stages missing: " + ", ".join(missing) + ". Sections that need them say so."
             if missing else "All three stages found: crawl, filter and shard.")
    return Section("overview", "Overview", intro, tables=[stages, check_table] if checks else [stages])


def consistency_checks(data: ReportData) -> list[tuple[str, str, int, int]]:
    """(key, check, expected, found): row counts that must agree across the stages' files."""
    checks: list[tuple[str, str, int, int]] = []
    f, c, rel = data.filtered, data.crawl, data.release
    if f is not None:
        s = f.stats
        rejected = sum(s.rejected.values())
        checks += [("balanced", "stats.json: input = kept + rejected", s.input, s.kept + rejected),
                   ("kept_rows", "kept/ rows = stats.json kept", s.kept, f.kept_rows),
                   ("rejected_rows", "rejected/ rows = stats.json rejected", rejected, f.rejected_rows)]
        if c is not None and c.parts:
            checks.append(("candidate_rows", "candidates/ rows = stats.json input", s.input, c.rows))
    if rel is not None:
        if f is not None:
            checks.append(("manifest_rows", "manifest rows = stats.json kept", f.stats.kept, rel.manifest_rows))
        if rel.shard_tars or rel.shard_stats:
            checks += [("complete_shards", "shards with a stats file (complete) = shard tars", rel.shard_tars,
                        rel.shard_stats),
                       ("shard_samples", "samples in shard stats = manifest rows", rel.manifest_rows,
                        rel.shard_samples)]
    return checks


def funnel_section(data: ReportData, plotter: Plotter) -> Section:
    section = Section("funnel", "Filter funnel",
                      "Pairs left after each filter step, in pipeline order (numbers from filtered/stats.json).")
    if data.filtered is None:
        section.missing = NEEDS_FILTER
        return section
    released = data.release.manifest_rows if data.release is not None else None
    rows = funnel_rows(data.filtered.stats, released)
    section.images.append(plotter.draw("funnel", "filter funnel", plots.funnel, rows))
    section.tables.append(Table(
        ["step", "pairs left", "removed by the step", "% of input"],
        [[r.label, r.remaining, r.removed, Percent(r.percent_of_input)] for r in rows],
        table_id="funnel-table", row_keys=[r.name for r in rows]))
    if released is None:
        section.notes.append("The release is missing: run `wukong shard` to add the released count.")
    return section


def rejections_section(data: ReportData, plotter: Plotter) -> Section:
    section = Section("rejections", "Rejections per reason",
                      "Every rejected pair has one reason; counts and percentages of the filter input.")
    if data.filtered is None:
        section.missing = NEEDS_FILTER
        return section
    stats = data.filtered.stats
    rows = reason_rows(stats)
    if rows:
        section.images.append(plotter.draw("rejections", "rejections per reason", plots.rejections, rows))
    total = sum(stats.rejected.values())
    section.tables.append(Table(
        ["reason", "step", "pairs", "% of input"],
        [[r.reason, _STEP_LABELS[r.step], r.count, Percent(r.percent_of_input)] for r in rows],
        table_id="reasons", row_keys=[r.reason for r in rows],
        footer=["all rejections", "", total, pct(total, stats.input)]))
    section.tables.append(Table(["", "pairs", "% of input"],
                                [["input", stats.input, pct(stats.input, stats.input)],
                                 ["kept", stats.kept, pct(stats.kept, stats.input)],
                                 ["rejected", total, pct(total, stats.input)]],
                                table_id="totals", row_keys=["input", "kept", "rejected"]))
    categories = data.filtered.sensitive_categories
    if categories:
        sensitive = sum(categories.values())
        ranked = sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))
        section.tables.append(Table(
            ["category", "pairs", "% of sensitive", "% of input"],
            [[name, n, pct(n, sensitive), pct(n, stats.input)] for name, n in ranked],
            title="Sensitive words per lexicon category (from the rejections' detail, `category:term`)",
            table_id="sensitive-categories", row_keys=[name for name, _ in ranked],
            footer=["all sensitive", sensitive, pct(sensitive, sensitive), pct(sensitive, stats.input)]))
    return section


def captions_section(data: ReportData, plotter: Plotter) -> Section:
    section = Section("captions", "Captions")
    if data.filtered is not None and data.filtered.captions:
        captions, what = data.filtered.captions, "kept captions (normalised)"
    elif data.crawl is not None and data.crawl.captions:
        captions, what = data.crawl.captions, "candidate captions (raw, before the text filters)"
    else:
        section.missing = "No captions found: needs candidates or kept pairs."
        return section
    counts = word_counts(captions)
    chars = np.fromiter((len(c) for c in captions), dtype=np.int64)
    section.intro = f"Length in jieba words of {len(captions):,} sampled {what}."
    section.images.append(plotter.draw("caption_words", "caption length in jieba words", plots.caption_words,
                                       counts, title=f"Caption length: {what}"))
    section.tables.append(Table(["", "min", "p5", "median", "p95", "max"],
                                [["jieba words", *_quantiles(counts)], ["characters", *_quantiles(chars)]],
                                title="Caption length", table_id="caption-length"))
    if data.crawl is not None and data.crawl.caption_sources:
        sources = data.crawl.caption_sources.most_common()
        section.tables.append(Table(["caption from", "candidates", "%"],
                                    [[k, n, pct(n, data.crawl.rows)] for k, n in sources],
                                    title="Where crawled captions come from", table_id="caption-sources"))
    if data.filtered is not None and data.filtered.examples:
        rows = [[e["key"], e["caption"], e["caption_raw"] if e["caption_raw"] != e["caption"] else "",
                 e["query"] or "", e["source"], f"{e['width']}x{e['height']}"] for e in data.filtered.examples]
        section.tables.append(Table(["key", "caption", "raw caption (when different)", "query", "source", "size"],
                                    rows, title="Sample of kept pairs (evenly spaced)", table_id="samples",
                                    row_keys=[e["key"] for e in data.filtered.examples]))
    return section


def images_section(data: ReportData, plotter: Plotter) -> Section:
    section = Section("images", "Image sizes")
    if data.filtered is not None and len(data.filtered.widths):
        widths, heights, what = data.filtered.widths, data.filtered.heights, "kept images"
    elif data.crawl is not None and len(data.crawl.widths):
        widths, heights, what = data.crawl.widths, data.crawl.heights, "size hints from the crawl"
    else:
        section.missing = "No image sizes yet: " + NEEDS_FILTER
        return section
    section.intro = f"Width, height and aspect ratio of {len(widths):,} {what}."
    section.images.append(plotter.draw("image_sizes", "image width and height", plots.image_sizes,
                                       widths, heights, title=what))
    section.images.append(plotter.draw("aspect_ratios", "aspect ratios", plots.aspect_ratios,
                                       widths, heights, title=f"Aspect ratio: {what}"))
    ok = (widths > 0) & (heights > 0)
    section.tables.append(Table(["", "min", "p5", "median", "p95", "max"],
                                [["width (px)", *_quantiles(widths)], ["height (px)", *_quantiles(heights)],
                                 ["aspect w/h", *_quantiles(widths[ok] / heights[ok])]],
                                title="Distribution", table_id="image-sizes"))
    return section


def sources_section(data: ReportData, plotter: Plotter) -> Section:
    section = Section("sources", "Pairs per source", "Which spider produced the pairs, and how many survived.")
    crawled = data.crawl.per_source if data.crawl is not None else Counter()
    kept = data.filtered.per_source if data.filtered is not None else None
    if not crawled and not kept:
        section.missing = "Needs candidates (run `wukong crawl`)."
        return section
    section.images.append(plotter.draw("sources", "pairs per source", plots.sources, crawled, kept))
    names = sorted(set(crawled) | set(kept or {}), key=lambda s: (-crawled[s], s))
    section.tables.append(Table(["source", "crawled", *(["kept", "kept %"] if kept is not None else [])],
                                [[n, crawled[n], *_kept_cells(n, crawled, kept)] for n in names],
                                table_id="sources-table", row_keys=names))
    return section


def _kept_cells(name: str, crawled: Counter[str], kept: Counter[str] | None) -> list[Any]:
    """`kept`, `kept %` cells (none without filter output; no % for pairs that were not crawled here)."""
    if kept is None:
        return []
    return [kept[name], pct(kept[name], crawled[name]) if crawled[name] else None]


def rank_queries(crawled: Counter[str], kept: Counter[str] | None) -> list[str]:
    """Queries by kept pairs (crawled pairs when there is no filter output), most first; ties by name."""
    names = (set(crawled) | set(kept or {})) - {NO_QUERY}
    primary = kept if kept is not None else crawled
    return sorted(names, key=lambda q: (-primary[q], -crawled[q], q))


def queries_section(data: ReportData, plotter: Plotter) -> Section:
    section = Section("queries", "Pairs per query")
    crawled = data.crawl.per_query if data.crawl is not None else Counter()
    kept = data.filtered.per_query if data.filtered is not None else None
    ranked = rank_queries(crawled, kept)
    if not ranked:
        section.missing = "No queries: the candidates come from the site spider only (query is null)."
        return section
    primary, what = (kept, "kept") if kept is not None else (crawled, "crawled")
    ranks = {q: i + 1 for i, q in enumerate(ranked)}
    n = min(TOP_QUERIES, (len(ranked) + 1) // 2)
    top, bottom = ranked[:n], ranked[-n:][::-1] if len(ranked) > n else []
    counts = Counter({q: primary[q] for q in ranked})
    section.intro = (f"{len(ranked):,} queries, ranked by {what} pairs; the right panel shows how balanced the "
                     "queries are" + (" (Wukong kept at most 1,000 pairs per query)." if kept is None else
                                      ". Queries that lose most of their pairs to the filters sink to the bottom."))
    section.images.append(plotter.draw("queries", "pairs per query", plots.queries, counts,
                                       [(q, primary[q]) for q in top], [(q, primary[q]) for q in bottom],
                                       ranks, what=what))
    if plotter.style.cjk_family is None:
        section.notes.append("No installed font draws Chinese (fc-list :lang=zh), so the plot shows queries by "
                             "rank; the tables give their text.")

    def rows(names: Iterable[str]) -> list[list[Any]]:
        return [[ranks[q], q, crawled[q], *_kept_cells(q, crawled, kept)] for q in names]

    headers = ["rank", "query", "crawled", *(["kept", "kept %"] if kept is not None else [])]
    section.tables.append(Table(headers, rows(top), title=f"Top {len(top)} queries", table_id="top-queries",
                                row_keys=top))
    if bottom:
        section.tables.append(Table(headers, rows(bottom), title=f"Bottom {len(bottom)} queries",
                                    table_id="bottom-queries", row_keys=bottom))
    values = np.fromiter(counts.values(), dtype=np.int64)
    no_query = crawled.get(NO_QUERY, 0)
    section.tables.append(Table(["", "value"], [
        ["queries", len(ranked)], [f"median {what} pairs per query", float(np.median(values))],
        [f"max {what} pairs per query", int(values.max())],
        [f"queries with no {what} pair", int((values == 0).sum())],
        ["crawled pairs without a query (site spider)", no_query]], title="Balance", table_id="query-balance"))
    return section


def _group_sizes(groups: Counter[str]) -> Counter[int]:
    return Counter(removed + 1 for removed in groups.values())


def duplicates_section(data: ReportData, plotter: Plotter) -> Section:
    section = Section("duplicates", "Duplicate groups",
                      "Groups of identical (sha256) and near-identical (pHash) images: one member is kept, the "
                      "rejected members name it in `detail`.")
    if data.filtered is None:
        section.missing = NEEDS_FILTER
        return section
    near, exact = data.filtered.near_duplicates, data.filtered.exact_duplicates
    if not near and not exact:
        section.notes.append("No duplicate groups: no pair was rejected as duplicate_image or near_duplicate.")
        return section
    near_sizes, exact_sizes = _group_sizes(near), _group_sizes(exact)
    section.images.append(plotter.draw("duplicate_groups", "duplicate group sizes", plots.group_sizes,
                                       near_sizes, exact_sizes))
    sizes = sorted(set(near_sizes) | set(exact_sizes))
    section.tables.append(Table(["group size", "near-duplicate groups", "exact groups"],
                                [[s, near_sizes.get(s, 0), exact_sizes.get(s, 0)] for s in sizes],
                                title="Groups per size", table_id="group-sizes",
                                footer=["groups", sum(near_sizes.values()), sum(exact_sizes.values())]))
    largest = sorted(near.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    if largest:
        section.tables.append(Table(["kept key", "images in group"], [[k, n + 1] for k, n in largest],
                                    title="Largest near-duplicate groups", table_id="largest-groups"))
    return section


def downloads_section(data: ReportData, plotter: Plotter) -> Section:
    section = Section("downloads", "Download failures by host",
                      "Pairs whose image download failed, per host; `attempted` counts every pair that reached "
                      "the download step (kept, or rejected at download or later).")
    if data.filtered is None:
        section.missing = NEEDS_FILTER
        return section
    failures = data.filtered.failures
    if not failures:
        section.notes.append("No download failures.")
        return section
    by_host: dict[str, Counter[str]] = {}
    for (host, reason), n in failures.items():
        by_host.setdefault(host, Counter())[reason] += n
    hosts = sorted(by_host, key=lambda h: (-sum(by_host[h].values()), h))
    reason_totals: Counter[str] = Counter()
    for counter in by_host.values():
        reason_totals.update(counter)
    reasons = [r for r, _ in reason_totals.most_common(8)]
    shown = [(h, dict(by_host[h])) for h in hosts[:TOP_HOSTS]]
    if len(reason_totals) > len(reasons):
        shown = [(h, {**{r: c.get(r, 0) for r in reasons}, "other": sum(n for r, n in c.items() if r not in reasons)})
                 for h, c in shown]
        reasons = [*reasons, "other"]
    section.images.append(plotter.draw("download_failures", "download failures by host", plots.failures_by_host,
                                       shown, reasons))
    attempts = data.filtered.attempts
    rows = [[h, attempts.get(h, 0), sum(by_host[h].values()), pct(sum(by_host[h].values()), attempts.get(h, 0)),
             ", ".join(f"{r}: {n:,}" for r, n in by_host[h].most_common(4))] for h in hosts[:TOP_HOSTS]]
    section.tables.append(Table(["host", "attempted", "failed", "failed %", "reasons"], rows,
                                title=f"Hosts with most failures ({min(len(hosts), TOP_HOSTS)} of {len(hosts)})",
                                table_id="hosts", row_keys=hosts[:TOP_HOSTS]))
    totals = sorted(reason_totals.items(), key=lambda kv: (-kv[1], kv[0]))
    section.tables.append(Table(["reason", "pairs"], [[r, n] for r, n in totals], title="Failures per reason",
                                table_id="download-reasons", row_keys=[r for r, _ in totals],
                                footer=["all download failures", sum(reason_totals.values())]))
    return section


def release_section(data: ReportData) -> Section:
    section = Section("release", "Release")
    rel = data.release
    if rel is None:
        section.missing = "Needs the shard stage (release/manifests/): run `wukong shard`."
        return section
    rows = [("manifest_parts", "manifest files", rel.manifest_parts),
            ("manifest_rows", "released pairs (manifest rows)", rel.manifest_rows),
            ("shard_tars", "shard tars", rel.shard_tars),
            ("complete_shards", "complete shards (with stats)", rel.shard_stats),
            ("shard_samples", "samples in shard stats", rel.shard_samples),
            ("image_bytes", "image bytes", rel.image_bytes),
            ("tar_bytes", "tar bytes", rel.tar_bytes),
            ("checksums", "SHA256SUMS present", rel.has_checksums)]
    section.tables.append(Table(["", "value"], [[label, value] for _, label, value in rows],
                                table_id="release-table", row_keys=[key for key, _, _ in rows]))
    return section


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "/"))
        elif isinstance(value, list):
            flat[name] = ", ".join(str(v) for v in value[:10]) + (" ..." if len(value) > 10 else "")
        else:
            flat[name] = value
    return flat


def crawl_stats_section(data: ReportData) -> Section | None:
    if data.crawl is None or not data.crawl.crawl_stats:
        return None
    files = [(name, _flatten(stats)) for name, stats in data.crawl.crawl_stats]
    keys = list(dict.fromkeys(k for _, flat in files for k in flat))  # the spiders' own order
    rows = [[k, *(flat.get(k) for _, flat in files)] for k in keys]
    return Section("crawl-stats", "Crawl statistics", "As the spiders wrote them (candidates/crawl_stats*.json).",
                   tables=[Table(["statistic", *(name for name, _ in files)], rows, table_id="crawl-stats-table",
                                 row_keys=keys)])
