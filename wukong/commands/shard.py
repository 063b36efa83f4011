"""`wukong shard`: the release stage, filtered pairs -> webdataset shards, manifests, SHA256SUMS, dataset card."""

from __future__ import annotations

import argparse
from pathlib import Path

from manifests.config import load_config
from manifests.layout import DataDir
from manifests.parquet_io import require_input_folder
from wukong.commands.common import add_config_args
from wukong.logs import close_file_logging, setup_file_logging


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="write the release (tar shards, manifests, SHA256SUMS, README.md)",
                       description=__doc__)
    p.add_argument("--in", dest="input", metavar="FILTERED", required=True,
                   help="the filter stage's output folder (with kept/ and stats.json)")
    p.add_argument("--out", metavar="RELEASE", required=True, help="the release folder (re-runs complete it)")
    p.add_argument("--samples-per-shard", type=int, metavar="N", default=None,
                   help="pairs per tar shard (default: shard.samples_per_shard)")
    p.add_argument("--csv", action="store_true", default=None,
                   help="also write url,caption CSV manifests like Wukong's release")
    add_config_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sharding.release import build_release

    cfg = load_config(args.config, args.set)
    if args.samples_per_shard is not None:
        cfg.shard.samples_per_shard = args.samples_per_shard
    if args.csv:
        cfg.shard.csv = True
    in_dir, out_dir = Path(args.input), Path(args.out)
    require_input_folder(in_dir)
    log_file = setup_file_logging(DataDir(out_dir.resolve().parent).logs, "shard")
    try:
        summary = build_release(in_dir, out_dir, cfg, progress=not args.quiet)
    finally:
        close_file_logging(log_file)
    print(summary.paragraph())
    return 0
