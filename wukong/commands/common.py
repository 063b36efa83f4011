"""Options shared by several subcommands."""

from __future__ import annotations

import argparse


def add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", default=None,
                   help="YAML config (default: built-in defaults = configs/wukong.yaml's values)")
    p.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                   help="override one config value, e.g. --set text.max_words=40 (repeatable)")
