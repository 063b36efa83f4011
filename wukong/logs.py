"""Log files for long stages: `setup_file_logging(DIR/logs, "filter")` adds `DIR/logs/filter.log`.

The console keeps the level chosen by `--quiet`/`--verbose`; the file always gets INFO and above
(DEBUG with `--verbose`), appended, one header line per run, so a failed run can be read afterwards.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from manifests.errors import UserError
from manifests.layout import DataDir
from manifests.storage import DataPath, is_remote, local_cache_dir
from wukong import __version__

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_root_level_before: dict[Path, int] = {}  # log file -> the root logger's level before its handler was added


def logs_dir_for(out: DataPath) -> Path:
    """Where a stage writing to `out` keeps its log: `DIR/logs` beside a local output folder, a local
    cache folder (manifests.storage.local_cache_dir) for an object-storage one, where nothing appends."""
    if is_remote(out):
        return local_cache_dir(out, "logs")
    return DataDir(Path(out).resolve().parent).logs


def setup_file_logging(log_dir: str | Path, stage: str) -> Path:
    """Adds a file handler for `stage` to the root logger (once per file) and returns the log file's path.

    Raises UserError when the folder cannot be created or the file cannot be opened.
    """
    path = Path(log_dir) / f"{stage}.log"
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path.resolve():
            return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, mode="a", encoding="utf-8", delay=False)
    except OSError as exc:
        raise UserError(f"cannot write the log file {path}: {exc.strerror or exc}") from None
    console_level = root.getEffectiveLevel()
    file_level = min(console_level, logging.INFO)
    for other in root.handlers:  # pin the console handlers to the user's level before lowering the root's
        if other.level == logging.NOTSET:
            other.setLevel(console_level)
    handler.setLevel(file_level)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    _root_level_before[path.resolve()] = root.level
    if root.level > file_level or root.level == logging.NOTSET:
        root.setLevel(file_level)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    header = logging.LogRecord("wukong", logging.INFO, __file__, 0, "=== wukong %s %s started %s (pid %d): %s",
                               (__version__, stage, started, os.getpid(), " ".join(sys.argv)), None)
    handler.handle(header)  # into this file only, not onto the console
    return path


def close_file_logging(path: str | Path) -> None:
    """Removes and closes the handler `setup_file_logging` added for `path` (for in-process callers and tests)."""
    root = logging.getLogger()
    target = Path(path).resolve()
    for handler in list(root.handlers):
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == target:
            root.removeHandler(handler)
            handler.close()
    if target in _root_level_before:
        root.setLevel(_root_level_before.pop(target))
