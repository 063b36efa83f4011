"""`wukong filter --in CANDIDATES --out DIR`: the Ray Data filter stage (text, URL dedup, download,
image, dedup, privacy) with a funnel summary at the end."""

from __future__ import annotations

import argparse
from pathlib import Path

from manifests.config import load_config
from manifests.errors import UserError
from manifests.parquet_io import require_input_folder
from manifests.storage import data_path, is_url
from wukong.commands.common import add_config_args, process_age
from wukong.logs import close_file_logging, logs_dir_for, setup_file_logging


def register(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="filter candidates into kept/ and rejected/ (Ray Data)", description=__doc__)
    p.add_argument("--in", dest="in_dir", required=True, metavar="DIR",
                   help="candidate parquet parts (crawl output): a folder or an s3:// URL")
    p.add_argument("--out", dest="out_dir", required=True, metavar="DIR",
                   help="output: kept/, rejected/, stats.json (a re-run resumes); a folder or an s3:// URL")
    add_config_args(p)
    p.set_defaults(func=run)


def format_summary(stats: dict, seconds: float, resumed: int, tasks: int) -> str:
    lines = [f"filter: {stats['input']:,} candidates -> {stats['kept']:,} kept "
             f"({100 * stats['kept'] / max(1, stats['input']):.1f}%) in {seconds:.1f}s "
             f"({stats['input'] / max(seconds, 1e-9):,.0f} pairs/s); {tasks} tasks, {resumed} already done"]
    for reason, n in stats["rejected"].items():
        lines.append(f"  rejected {reason:<20} {n:>9,}  {100 * n / max(1, stats['input']):5.1f}%")
    return "\n".join(lines)


def format_startup(phases: dict[str, float], seconds: float, where: str, imports: float) -> str:
    """Start-up and shutdown apart from the work: what a run pays whatever its size."""
    startup, shutdown = phases.get("startup", 0.0), phases.get("shutdown", 0.0)
    return (f"start-up {imports + startup:.1f}s (command {imports:.1f}s, {where} {startup:.1f}s), "
            f"shutdown {shutdown:.1f}s, work {max(0.0, seconds - startup - shutdown):.1f}s")


def run(args: argparse.Namespace) -> int:
    from filters.runner import run_filter

    cfg = load_config(args.config, args.set)
    # Absolute paths or URLs: on a cluster, Ray workers do not share the driver's working directory.
    in_dir, out_dir = data_path(args.in_dir, cfg.storage), data_path(args.out_dir, cfg.storage)
    cfg.text.sensitive_words = [p if is_url(p) else str(Path(p).absolute()) for p in cfg.text.sensitive_words]
    cfg.privacy.opt_out_lists = [p if is_url(p) else str(Path(p).absolute()) for p in cfg.privacy.opt_out_lists]
    cfg.dedup.exclude = [p if is_url(p) else str(Path(p).absolute()) for p in cfg.dedup.exclude]
    require_input_folder(in_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out is not a folder: {out_dir}")
    log_file = setup_file_logging(logs_dir_for(out_dir), "filter")
    imports = process_age()  # the interpreter, the imports and the config, before the stage's own clock
    try:
        result = run_filter(in_dir, out_dir, cfg)
    finally:
        close_file_logging(log_file)
    print(format_summary(result.stats.to_dict(), result.seconds, result.resumed_tasks, result.tasks))
    print("  " + format_startup(result.phase_seconds, result.seconds, result.where, imports))
    print("  time per phase: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.phase_seconds.items()))
    for note in result.notes:
        print(f"  {note}")
    print(f"  log: {log_file}")
    return 0
