"""The resume journal: finished work units, appended only after their pairs sit in committed parts.

One JSON object per line (`{"kind": "query", "key": "猫"}` or `{"kind": "page", "key": URL,
"links": [...]}`), flushed and fsynced per append. A line torn by a kill is cut off before the
next append, and ignored when read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from crawler.items import Checkpoint

JOURNAL_NAME = "journal.jsonl"


def read_journal(path: Path) -> list[Checkpoint]:
    """The checkpoints of one journal; a missing file is empty, torn or foreign lines are skipped."""
    if not path.is_file():
        return []
    out: list[Checkpoint] = []
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # torn by a kill: never trusted
            try:
                obj = json.loads(raw)
                out.append(Checkpoint(str(obj["kind"]), str(obj["key"]), [str(u) for u in obj.get("links", [])]))
            except (ValueError, KeyError, TypeError):
                continue
    return out


def done_queries(paths: Iterable[Path]) -> set[str]:
    """The queries finished in any of the journals (partitions may have changed between runs)."""
    return {c.key for p in paths for c in read_journal(p) if c.kind == "query"}


def done_pages(path: Path) -> dict[str, list[str]]:
    """Finished pages (by page key) with the in-site links each one had."""
    return {c.key: c.links for c in read_journal(path) if c.kind == "page"}


class Journal:
    """An append-only journal file; `append` returns once the lines are on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._truncate_torn_tail()

    def _truncate_torn_tail(self) -> None:
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)

    def append(self, checkpoints: Iterable[Checkpoint]) -> int:
        lines = [
            json.dumps({"kind": c.kind, "key": c.key, **({"links": c.links} if c.links else {})},
                       ensure_ascii=False) + "\n"
            for c in checkpoints
        ]
        if not lines:
            return 0
        with open(self.path, "ab") as fh:
            fh.write("".join(lines).encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        return len(lines)
