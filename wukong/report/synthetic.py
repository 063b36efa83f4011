"""A synthetic data directory shaped like a real run (crawl, filter, shard outputs) for the report's
tests, its benchmark and the README screenshot. Deterministic for a seed. Each kept pair's image is
one of a few small flat-colour JPEGs (encoded once, so any row count stays cheap), also inside real
webdataset tar shards: enough for the report's thumbnails, not a model of real images.

    python -m wukong.report.synthetic DIR [--rows N] [--seed S] [--stages crawl,filter,shard]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import tarfile
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from PIL import Image

from manifests import reasons as r
from manifests.layout import DataDir, FilteredDir, ReleaseDir, part_name, shard_name
from manifests.schemas import CANDIDATE, MANIFEST, REJECTED, SAMPLE

QUERIES = ("猫", "狗", "风景", "美食", "汽车", "手机", "花", "海边", "城市夜景", "红烧肉", "蒜薹炒肉盖饭", "秒切肉馅",
           "长城", "西湖", "熊猫", "雪山", "咖啡", "书法", "旗袍", "高铁", "火锅", "月饼", "樱花", "故宫", "包子",
           "机器人", "足球", "篮球", "钢琴", "水墨画", "茶", "饺子", "春节", "婚纱", "鲜花", "沙漠", "星空", "瀑布")
SUFFIXES = ("", "高清图片", "的做法", "壁纸", "摄影作品", "图片大全", "简笔画", "家常做法步骤", "旅游攻略", "新款")
JUNK = ("查看源网页", "展开全文", "如下图所示", "图片", "IMG_0001.jpg", "photo", "<script>alert('x')</script>&amp;")
HOSTS = ("img.photos.example", "cdn.food.example", "pic.travel.example", "static.news.example",
         "images.shop.example", "upload.forum.example", "img.blog.example", "media.wiki.example")
# (reason, weight) in pipeline order; the rest of the rows are kept.
REASON_WEIGHTS = (
    (r.MOJIBAKE, 0.004), (r.EMPTY_CAPTION, 0.01), (r.PLACEHOLDER, 0.03), (r.TOO_SHORT, 0.005), (r.TOO_LONG, 0.02),
    (r.NOT_CHINESE, 0.04), (r.SENSITIVE, 0.005), (r.FREQUENT_CAPTION, 0.05), (r.INVALID_URL, 0.003),
    (r.DUPLICATE_URL, 0.06), ("http_403", 0.06), ("http_404", 0.03), (r.TIMEOUT, 0.02),
    (r.CONNECTION_ERROR, 0.01), (r.DNS_ERROR, 0.005), (r.NOT_AN_IMAGE, 0.01), (r.TOO_LARGE, 0.002),
    (r.CORRUPT_IMAGE, 0.01), (r.TOO_SMALL, 0.06), (r.BAD_ASPECT, 0.02), (r.DUPLICATE_IMAGE, 0.03),
    (r.NEAR_DUPLICATE, 0.04),
)
ALL_STAGES = ("crawl", "filter", "shard")
SENSITIVE_DETAILS = ("gambling:百家乐", "porn:色情", "gambling:赌博", "drugs:冰毒", "fraud:刷单")
IMAGE_SIZES = ((320, 240), (240, 320), (400, 300), (300, 300))


def palette_images(n: int = 16) -> list[bytes]:
    """`n` small JPEGs of distinct colours and a few sizes (the same bytes on every call)."""
    out = []
    for i in range(n):
        colour = (40 + (i * 53) % 200, 40 + (i * 97) % 200, 40 + (i * 151) % 200)
        buf = io.BytesIO()
        Image.new("RGB", IMAGE_SIZES[i % len(IMAGE_SIZES)], colour).save(buf, "JPEG", quality=75)
        out.append(buf.getvalue())
    return out


def _write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _parts(table: pa.Table, directory: Path, rows_per_part: int, prefix: str = "part-") -> None:
    for i, start in enumerate(range(0, max(table.num_rows, 1), rows_per_part)):
        _write(table.slice(start, rows_per_part), directory / part_name(i, prefix))


def _caption(rng: np.random.Generator, query: str, reason: str | None) -> str:
    if reason == r.MOJIBAKE:  # the UTF-8 bytes of a caption read as GBK, what could not be read replaced
        return (query + str(rng.choice(SUFFIXES))).encode("utf-8").decode("gbk", "replace")
    if reason == r.EMPTY_CAPTION:
        return ""
    if reason in (r.PLACEHOLDER, r.FREQUENT_CAPTION):
        return str(rng.choice(JUNK))
    if reason == r.NOT_CHINESE:
        return str(rng.choice(["beautiful sunset", "best price shoes", "Nikon D750 sample"]))
    if reason == r.TOO_LONG:
        return "".join(rng.choice(QUERIES, 12)) + "，欢迎访问我们的网站了解更多详情"
    words = [query, str(rng.choice(SUFFIXES))]
    if rng.random() < 0.3:
        words.insert(0, str(rng.choice(QUERIES)))
    if rng.random() < 0.07:
        words.append(str(rng.choice(["iphone 15", "LV", "NBA"])))
    return "".join(words)


def candidates_table(rows: int, seed: int) -> tuple[pa.Table, list[str | None], np.ndarray, np.ndarray]:
    """The candidate pairs, each row's planned fate (a reason, or None for kept) and true image sizes."""
    rng = np.random.default_rng(seed)
    weights = np.array([w for _, w in REASON_WEIGHTS])
    fates = rng.choice(len(REASON_WEIGHTS) + 1, size=rows, p=[*weights, 1 - weights.sum()])
    zipf = 1 / np.arange(1, len(QUERIES) + 1) ** 0.8
    queries = rng.choice(QUERIES, size=rows, p=zipf / zipf.sum())
    site = rng.random(rows) < 0.3
    host_p = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.06, 0.05, 0.04])
    hosts = rng.choice(HOSTS, size=rows, p=host_p)
    t0 = datetime(2025, 11, 1, tzinfo=UTC)
    plan: list[str | None] = [REASON_WEIGHTS[f][0] if f < len(REASON_WEIGHTS) else None for f in fates]
    widths = np.clip(rng.lognormal(6.3, 0.5, rows), 40, 6000).astype(np.int32)
    heights = np.clip(widths / np.exp(rng.normal(0.15, 0.4, rows)), 40, 6000).astype(np.int32)
    table = pa.table({
        "url": [f"https://{h}/{i // 7 if p == r.DUPLICATE_URL else i}/img.jpg" for i, (h, p) in
                enumerate(zip(hosts, plan, strict=True))],
        "caption": [_caption(rng, q, p) for q, p in zip(queries, plan, strict=True)],
        "caption_source": np.where(site, rng.choice(["alt", "title", "figcaption"], size=rows), "api").tolist(),
        "page_url": [f"https://www.{h.split('.', 1)[1]}/page/{i % 97}.html" for i, h in enumerate(hosts)],
        "query": [None if s else q for s, q in zip(site, queries, strict=True)],
        "source": np.where(site, "site", "search").tolist(),
        "crawled_at": [t0 + timedelta(seconds=i) for i in range(rows)],
        "width_hint": [None if s else int(w) for s, w in zip(site, widths, strict=True)],
        "height_hint": [None if s else int(h) for s, h in zip(site, heights, strict=True)],
    }, schema=CANDIDATE)
    return table, plan, widths, heights


def _filter_outputs(cands: pa.Table, plan: list[str | None], sizes: tuple[np.ndarray, np.ndarray], seed: int,
                    out: FilteredDir) -> pa.Table:
    rng = np.random.default_rng(seed + 1)
    kept_idx = [i for i, p in enumerate(plan) if p is None]
    keys = [f"{i:09d}" for i in range(len(kept_idx))]
    kept_src = cands.take(pa.array(kept_idx, pa.int64()))
    widths, heights = (np.where(a[kept_idx] < 200, a[kept_idx] + 200, a[kept_idx]) for a in sizes)
    palette = palette_images()
    image = [palette[i % len(palette)] for i in range(len(keys))]
    kept = pa.table({
        "key": keys, "url": kept_src["url"], "caption": kept_src["caption"], "caption_raw": kept_src["caption"],
        "page_url": kept_src["page_url"], "query": kept_src["query"], "source": kept_src["source"],
        "width": widths.astype(np.int32), "height": heights.astype(np.int32),
        "sha256": [hashlib.sha256(b).hexdigest() for b in image],
        "phash": [f"{rng.integers(0, 2**63):016x}" for _ in keys], "image": image,
        "mime": ["image/jpeg"] * len(keys),
    }, schema=SAMPLE)
    rej_idx = [i for i, p in enumerate(plan) if p is not None]
    group_of = np.minimum(rng.zipf(1.6, size=len(rej_idx)) - 1, max(len(keys) - 1, 0))

    def detail(n: int, reason: str) -> str | None:
        if reason in (r.NEAR_DUPLICATE, r.DUPLICATE_IMAGE):
            return keys[int(group_of[n])] if keys else None
        if reason == r.SENSITIVE:  # the filter's detail: `category:term`
            return SENSITIVE_DETAILS[n % len(SENSITIVE_DETAILS)]
        return {r.FREQUENT_CAPTION: "shared by 57 pairs"}.get(reason)

    rejected_src = cands.take(pa.array(rej_idx, pa.int64()))
    reasons = [plan[i] for i in rej_idx]
    rejected = rejected_src.append_column("reason", pa.array(reasons, pa.string())).append_column(
        "detail", pa.array([detail(n, p) for n, p in enumerate(reasons)], pa.string()))
    rejected = rejected.cast(REJECTED)
    _parts(kept, out.kept, 4000)
    _parts(rejected, out.rejected, 4000)
    stats = {"input": cands.num_rows, "kept": kept.num_rows,
             "rejected": dict(sorted(Counter(reasons).items(), key=lambda kv: (-kv[1], kv[0])))}
    out.stats.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return kept


def _write_tar(path: Path, rows: list[dict[str, object]]) -> None:
    """A webdataset shard: `<key>.jpg`, `<key>.txt` (caption) and `<key>.json` per row, mtime 0."""
    with tarfile.open(path, "w") as tar:
        for row in rows:
            meta = {k: v for k, v in row.items() if k not in ("image", "mime")}
            for ext, data in (("jpg", row["image"]), ("txt", str(row["caption"]).encode("utf-8")),
                              ("json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))):
                assert isinstance(data, bytes)
                info = tarfile.TarInfo(f"{row['key']}.{ext}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def _release(kept: pa.Table, out: ReleaseDir, samples_per_shard: int = 1000) -> None:
    shards = [shard_name(i // samples_per_shard) for i in range(kept.num_rows)]
    manifest = kept.select(["url", "caption", "key", "width", "height", "sha256", "phash"]).append_column(
        "shard", pa.array(shards, pa.string())).cast(MANIFEST)
    _parts(manifest, out.manifests, 100_000)
    out.shards.mkdir(parents=True, exist_ok=True)
    rows = kept.select(["key", "caption", "url", "width", "height", "image", "mime"]).to_pylist()
    for name, count in sorted(Counter(shards).items()):
        start = int(name) * samples_per_shard
        part = rows[start:start + count]
        tar_path = out.shards / f"{name}.tar"
        _write_tar(tar_path, part)
        stats = {"shard": name, "count": count, "successes": count,
                 "image_bytes": sum(len(r["image"]) for r in part), "tar_bytes": tar_path.stat().st_size}
        (out.shards / f"{name}_stats.json").write_text(json.dumps(stats), encoding="utf-8")
    out.checksums.write_text("", encoding="utf-8")


def write_synthetic_data_dir(root: str | Path, rows: int = 3000, seed: int = 0,
                             stages: Sequence[str] = ALL_STAGES) -> DataDir:
    """Writes the outputs of `stages` (crawl, filter, shard) for `rows` candidate pairs under `root`."""
    data = DataDir(Path(root))
    cands, plan, widths, heights = candidates_table(rows, seed)
    if "crawl" in stages:
        sites = pc.equal(cands["source"], "site")
        _parts(cands.filter(pc.invert(sites)), data.candidates, 5000, "part-search-")
        _parts(cands.filter(sites), data.candidates, 5000, "part-site-")
        n_site = int(pc.sum(sites).as_py() or 0)
        for spider, n in (("search", rows - n_site), ("site", n_site)):
            stats = {"spider": spider, "updated_at": "2025-11-01T12:00:00+00:00", "pages": n // 25 + 1, "pairs": n,
                     "parts": n // 5000 + 1, "requests": n // 25 + 9, "errors": {"timeout": 3, "http_500": 1},
                     "blocked": 2 if spider == "search" else 0, "dropped": {"no_caption": n // 40}}
            (data.candidates / f"crawl_stats-{spider}.json").write_text(json.dumps(stats), encoding="utf-8")
    if "filter" in stages or "shard" in stages:
        kept = _filter_outputs(cands, plan, (widths, heights), seed, FilteredDir(data.filtered))
        if "shard" in stages:
            _release(kept, ReleaseDir(data.release))
        if "filter" not in stages:
            shutil.rmtree(data.filtered)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", help="where to write the synthetic stages")
    parser.add_argument("--rows", type=int, default=3000, help="candidate pairs (default: 3000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--stages", default=",".join(ALL_STAGES), help="comma-separated (default: all)")
    args = parser.parse_args(argv)
    write_synthetic_data_dir(args.data_dir, args.rows, args.seed, args.stages.split(","))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
