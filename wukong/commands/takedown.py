"""`wukong takedown RELEASE --remove FILE --out NEW`: a release without the pairs FILE names.

FILE lists one image URL, sample key or image sha256 a line (`#` comments). NEW holds every other
pair: shards that held none are byte-identical copies, the others are rewritten deterministically,
and the manifests, sidecars, stats, dataset card (with the count removed and the date) and
SHA256SUMS are regenerated, so `wukong verify NEW` passes. Entries that match no pair are reported,
not fatal. RELEASE, FILE and NEW may be local paths or object-storage URLs.

Exit 0 on success, 2 on bad input (a missing or malformed FILE, RELEASE not a release, NEW not new).
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime

from wukong.commands.common import add_config_args


def check_date(text: str) -> str:
    """`text` when it is a YYYY-MM-DD calendar date, else a one-line error."""
    from manifests.errors import UserError

    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.strptime(text, "%Y-%m-%d").strftime("%Y-%m-%d")
    except ValueError:
        pass
    raise UserError(f"--date {text!r} is not a calendar date in YYYY-MM-DD form")


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="write a release without the pairs a takedown file names", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("release", metavar="RELEASE", help="the release folder (or s3:// URL) written by `wukong shard`")
    p.add_argument("--remove", required=True, metavar="FILE",
                   help="takedown file: one URL, key or sha256 a line, # comments")
    p.add_argument("--out", required=True, metavar="NEW",
                   help="the new release: a folder (or URL) that is new or empty")
    p.add_argument("--date", default=None, metavar="YYYY-MM-DD",
                   help="the date the dataset card records (default: today, UTC)")
    add_config_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from manifests.config import load_config
    from manifests.storage import data_path
    from sharding.removals import parse_removals
    from sharding.takedown import take_down

    date = check_date(args.date) if args.date else datetime.now(UTC).strftime("%Y-%m-%d")
    cfg = load_config(args.config, args.set)
    release, out = data_path(args.release, cfg.storage), data_path(args.out, cfg.storage)
    removals = parse_removals(data_path(args.remove, cfg.storage))
    summary = take_down(release, out, removals, date, cfg.shard.removal_contact)
    print(summary.paragraph())
    return 0
