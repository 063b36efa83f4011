"""`wukong shard`: the release stage, filtered pairs -> webdataset shards, manifests, SHA256SUMS, dataset card.

FILTERED and RELEASE are folders or object-storage URLs (`s3://bucket/prefix`; endpoint and
credentials from the `storage` config section or the environment).
"""

from __future__ import annotations

import argparse
import logging

from manifests.config import load_config
from manifests.parquet_io import require_input_folder
from manifests.storage import as_path, is_remote
from wukong.commands.common import add_config_args, process_age
from wukong.logs import close_file_logging, logs_dir_for, setup_file_logging


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="write the release (tar shards, manifests, SHA256SUMS, README.md)",
                       description=__doc__)
    p.add_argument("--in", dest="input", metavar="FILTERED", required=True,
                   help="the filter stage's output folder or URL (with kept/ and stats.json)")
    p.add_argument("--out", metavar="RELEASE", required=True,
                   help="the release folder or URL, e.g. s3://bucket/release (re-runs complete it)")
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
    # Plain paths keep their spelling (the summary names RELEASE as given); URLs carry cfg.storage.
    in_dir, out_dir = (as_path(spec, cfg.storage) for spec in (args.input, args.out))
    require_input_folder(in_dir)
    log_file = setup_file_logging(logs_dir_for(out_dir), "shard")
    if is_remote(out_dir):  # object storage cannot be appended to: the log stays on this machine
        logging.getLogger(__name__).info("log of %s: %s", out_dir, log_file)
    imports = process_age()  # the interpreter, the imports and the config, before the stage's own clock
    try:
        summary = build_release(in_dir, out_dir, cfg, progress=not args.quiet)
    finally:
        close_file_logging(log_file)
    print(summary.paragraph())
    print("  " + summary.startup_line(imports))
    return 0
