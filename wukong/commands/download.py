"""`wukong download`: fetch a released dataset from its manifests with img2dataset (resumable).

MANIFESTS is a glob of release manifests: `manifests/part-*.parquet`, or Wukong-style `url,caption`
CSV files such as `wukong_100m_*.csv`. Images land in OUT as webdataset shards with img2dataset's
parquet sidecars and stats; a re-run with the same manifests and OUT resumes where it stopped.
"""

from __future__ import annotations

import argparse

from manifests.config import load_config
from manifests.storage import data_path
from wukong.commands.common import add_config_args


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="download a released dataset from its manifests (img2dataset)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifests", metavar="GLOB", required=True,
                   help="manifest files, e.g. 'data/release/manifests/*.parquet', "
                        "'s3://bucket/release/manifests/*.parquet' or 'wukong_100m_*.csv' (quote it)")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder or s3:// URL (a re-run resumes into it)")
    p.add_argument("--processes", type=int, default=4, metavar="N", help="download processes (default 4)")
    p.add_argument("--threads", type=int, default=64, metavar="N", help="threads per process (default 64)")
    p.add_argument("--samples-per-shard", type=int, default=10_000, metavar="N",
                   help="pairs per output shard (default 10000)")
    p.add_argument("--resize", action="store_true",
                   help="resize to --image-size with a white border and re-encode as JPEG "
                        "(default: keep the original bytes)")
    p.add_argument("--image-size", type=int, default=256, metavar="PX", help="side for --resize (default 256)")
    p.add_argument("--verify-hash", action="store_true",
                   help="drop images whose bytes differ from the manifest's sha256 (a changed or placeholder image)")
    p.add_argument("--ignore-x-robots-tag", action="store_true",
                   help="download even when a host answers X-Robots-Tag: noai/noindex (only for your own hosts, "
                        "such as the demo web)")
    add_config_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from manifests.download import DownloadOptions, download_release

    cfg = load_config(args.config, args.set)
    opts = DownloadOptions(
        processes=args.processes, threads=args.threads, resize=args.resize, image_size=args.image_size,
        samples_per_shard=args.samples_per_shard, verify_hash=args.verify_hash,
        respect_x_robots_tag=not args.ignore_x_robots_tag,
    )
    summary = download_release(args.manifests, data_path(args.out, cfg.storage), cfg, opts)
    print(summary.render())
    return 0
