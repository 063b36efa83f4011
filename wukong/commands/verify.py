"""`wukong verify RELEASE`: recompute every checksum in RELEASE/SHA256SUMS.

RELEASE is a folder or an object-storage URL (`s3://bucket/prefix`; endpoint and credentials from
the `storage` config section or the environment).

Exit 0 when every listed file matches, 1 with one line per bad or missing file, 2 when RELEASE or
its SHA256SUMS is missing or malformed.
"""

from __future__ import annotations

import argparse
import sys

from wukong.commands.common import add_config_args


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="check a release against its SHA256SUMS", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("release", metavar="RELEASE", help="a release folder (or s3:// URL) written by `wukong shard`")
    add_config_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from manifests.config import load_config
    from manifests.storage import data_path
    from sharding.checksums import CHECKSUMS, parse_checksums, unlisted, verify

    root = data_path(args.release, load_config(args.config, args.set).storage)
    checked, problems = verify(root)
    for line in problems:
        print(line)
    extra = unlisted(root, (rel for _, rel in parse_checksums(root / CHECKSUMS)))
    for rel in extra:
        print(f"note: {rel} is not listed in SHA256SUMS", file=sys.stderr)
    if problems:
        print(f"wukong verify: {len(problems)} of {checked} files FAILED", file=sys.stderr)
        return 1
    print(f"wukong verify: all {checked} files OK")
    return 0
