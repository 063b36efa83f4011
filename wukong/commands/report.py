"""`wukong report --data-dir DIR`: the dataset report from whatever stages exist in DIR.

Writes DIR/report.html with its PNG plots in DIR/report/: the filter funnel and rejections per
reason (numbers from filtered/stats.json), caption length in jieba words, image sizes and aspect
ratios, pairs per source and per query, duplicate group sizes, download failures by host, and the
release. Then the data itself, as thumbnails in DIR/report/samples/ made from the stored image bytes
(nothing is downloaded): a grid of kept pairs with a search box, a few rejected pairs per reason,
and near-duplicate groups side by side. Works on crawl-only, crawl + filter, or complete data dirs
and says which stages are missing.
"""

from __future__ import annotations

import argparse
import logging

from manifests.config import load_config
from manifests.errors import UserError
from manifests.layout import DataDir
from manifests.storage import as_path, is_remote, local_cache_dir
from wukong.commands.common import add_config_args
from wukong.logs import close_file_logging, setup_file_logging

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="write DIR/report.html (funnel and distributions, PNG plots)",
                       description=__doc__)
    p.add_argument("--data-dir", default="data", metavar="DIR",
                   help="the data directory holding candidates/, filtered/ and/or release/: a folder or an "
                        "s3:// URL (default: data)")
    p.add_argument("--caption-sample", type=int, default=20_000, metavar="N",
                   help="captions sampled (evenly spaced) for the jieba word-count plot (default: 20000)")
    p.add_argument("--examples", type=int, default=30, metavar="N",
                   help="sample kept pairs listed in the captions table (default: 30)")
    p.add_argument("--samples", type=int, default=60, metavar="N",
                   help="kept pairs shown as thumbnails in the samples grid, picked at random with a fixed seed; "
                        "0 leaves out every thumbnail (default: 60)")
    add_config_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from wukong.report import Limits, build_report

    if args.caption_sample < 0 or args.examples < 0 or args.samples < 0:
        raise UserError("--caption-sample, --examples and --samples must be >= 0")
    cfg = load_config(args.config, args.set)
    root = as_path(args.data_dir, cfg.storage)
    if not root.is_dir():
        raise UserError(f"data directory not found: {root}" if not root.exists() else f"not a directory: {root}")
    data = DataDir(root)
    log_file = None
    if any(p.exists() for p in (data.candidates, data.filtered, data.release)):  # never litter a wrong dir
        log_file = setup_file_logging(local_cache_dir(root, "logs") if is_remote(root) else data.logs, "report")
    try:
        result = build_report(root, Limits(captions=args.caption_sample, examples=args.examples,
                                           samples=args.samples))
    finally:
        if log_file is not None:
            close_file_logging(log_file)
    print(f"report: {result.html} ({len(result.images)} plots and {len(result.thumbnails)} thumbnails in "
          f"{DataDir(root).report_assets}, {result.seconds:.1f}s)")
    if result.missing_stages:
        print(f"report: stages not found yet: {', '.join(result.missing_stages)}")
    return 0
