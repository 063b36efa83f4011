"""`wukong`: one console command with a subcommand per stage.

Exit codes: 0 success, 1 the stage ran but failed (e.g. `verify` found a mismatch), 2 bad input
(missing path, unknown config key, malformed file), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from manifests.arrow_init import prepare_arrow
from manifests.errors import UserError
from manifests.storage import storage_failure
from wukong import __version__

# Subcommand name -> module under wukong.commands (each has register() and run()).
COMMANDS: dict[str, str] = {
    "crawl": "crawl",
    "filter": "filter",
    "shard": "shard",
    "download": "download",
    "report": "report",
    "demo-web": "demo_web",
    "queries": "queries",
    "verify": "verify",
    "takedown": "takedown",
    "config": "config",
}

EPILOG = "Exit codes: 0 success, 1 stage failed, 2 bad input (one-line error), 130 interrupted."


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps docstring layout and ends each option's help with its default (or `required`)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or action.default is argparse.SUPPRESS:  # positionals, --help, --version
            return text
        if "%(default)" in text or "default" in text.lower():
            return text
        if action.required:
            return f"{text} (required)"
        if action.nargs == 0:  # a flag
            return f"{text} (default: {'on' if action.default else 'off'})"
        if action.default in (None, []):
            return f"{text} (default: none)"
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """Usage errors on one line, like every other error: `wukong report: error: ... (see --help)`."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="wukong",
        description="Build Wukong-style Chinese image-text datasets: crawl -> filter -> shard -> download.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"wukong {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and the final summary")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        qualified = f"wukong.commands.{module_name}"
        if importlib.util.find_spec(qualified) is None:  # a subcommand not built yet in this checkout
            continue
        importlib.import_module(qualified).register(sub, name)
    for subparser in sub.choices.values():  # every subcommand: defaults shown, exit codes in the epilog
        subparser.formatter_class = HelpFormatter
        subparser.epilog = f"{subparser.epilog}\n\n{EPILOG}" if subparser.epilog else EPILOG
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    prepare_arrow()
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"wukong: error: {' '.join(str(exc).split())}", file=sys.stderr)  # always one line
        return 2
    except KeyboardInterrupt:
        print("wukong: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        message = storage_failure(exc)
        if message is None:
            raise
        print(f"wukong: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
