"""`wukong config --show`: print the effective configuration (file plus --set overrides) as YAML."""

from __future__ import annotations

import argparse

from manifests.config import config_to_yaml, load_config
from wukong.commands.common import add_config_args


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="print the effective config", description=__doc__)
    p.add_argument("--show", action="store_true", help="print the effective config as YAML (the default action)")
    add_config_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(config_to_yaml(load_config(args.config, args.set)), end="")
    return 0
