"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", default=None,
                   help="YAML config (default: built-in defaults = configs/wukong.yaml's values)")
    p.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                   help="override one config value, e.g. --set text.max_words=40 (repeatable)")


def process_age() -> float:
    """Seconds since this process started (Linux /proc; 0.0 elsewhere): the interpreter's start and
    the imports before a command's own clock starts, which a summary counts as start-up."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
