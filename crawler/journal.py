"""The resume journal: finished work units, appended only after their pairs sit in committed parts.

One JSON object per line (`{"kind": "query", "key": "猫"}` or `{"kind": "page", "key": URL,
"links": [...]}`). In a local job folder it is one file, `journal.jsonl`, flushed and fsynced per
append; a line torn by a kill is cut off before the next append, and ignored when read.

Object storage cannot append, so for an output folder there the journal is a folder of segments,
`journal/NNNNN.jsonl`: each append uploads one complete new object and claims its number with a
conditional PUT (as parts do), so segments are never torn and never overwritten, and any machine
can read the whole journal back by listing the folder.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.items import Checkpoint
from manifests.storage import DataPath, is_remote, is_upath, upload

if TYPE_CHECKING:
    from upath import UPath

JOURNAL_NAME = "journal.jsonl"
SEGMENTS_NAME = "journal"  # the folder of segments, on object storage
_SEGMENT = re.compile(r"^(\d{5,})\.jsonl$")


def journal_path(state_dir: DataPath) -> DataPath:
    """A job's journal in its state folder: the file locally, the folder of segments on object storage."""
    return state_dir / (SEGMENTS_NAME if is_remote(state_dir) else JOURNAL_NAME)


def _parse(data: bytes) -> list[Checkpoint]:
    out: list[Checkpoint] = []
    for raw in data.split(b"\n")[:-1]:  # what follows the last newline was torn by a kill: never trusted
        try:
            obj = json.loads(raw)
            out.append(Checkpoint(str(obj["kind"]), str(obj["key"]), [str(u) for u in obj.get("links", [])]))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def _segments(folder: UPath) -> list[tuple[int, UPath]]:
    try:
        names = [str(p).rstrip("/").rsplit("/", 1)[-1] for p in folder.fs.ls(folder.path, detail=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = [(int(m.group(1)), folder / name) for name in names if (m := _SEGMENT.match(name))]
    return sorted(found, key=lambda s: s[0])


def read_journal(path: DataPath) -> list[Checkpoint]:
    """The checkpoints of one journal; a missing one is empty, torn or foreign lines are skipped."""
    if is_remote(path):
        assert is_upath(path)
        out: list[Checkpoint] = []
        for _, segment in _segments(path):
            try:
                out.extend(_parse(segment.read_bytes()))
            except FileNotFoundError:
                continue
        return out
    if not path.is_file():
        return []
    return _parse(Path(path).read_bytes())


def done_queries(paths: Iterable[DataPath]) -> set[str]:
    """The queries finished in any of the journals (partitions may have changed between runs)."""
    return {c.key for p in paths for c in read_journal(p) if c.kind == "query"}


def done_pages(path: DataPath) -> dict[str, list[str]]:
    """Finished pages (by page key) with the in-site links each one had."""
    return {c.key: c.links for c in read_journal(path) if c.kind == "page"}


def _lines(checkpoints: Iterable[Checkpoint]) -> list[str]:
    return [
        json.dumps({"kind": c.kind, "key": c.key, **({"links": c.links} if c.links else {})},
                   ensure_ascii=False) + "\n"
        for c in checkpoints
    ]


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
        lines = _lines(checkpoints)
        if not lines:
            return 0
        with open(self.path, "ab") as fh:
            fh.write("".join(lines).encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        return len(lines)


class SegmentJournal:
    """An append-only journal on object storage: each `append` adds one whole segment object;
    `scratch` is a local folder for the segment before its upload."""

    def __init__(self, folder: UPath, scratch: Path) -> None:
        self.folder = folder
        self.scratch = scratch
        segments = _segments(folder)
        self._next = segments[-1][0] + 1 if segments else 0

    def append(self, checkpoints: Iterable[Checkpoint]) -> int:
        lines = _lines(checkpoints)
        if not lines:
            return 0
        self.scratch.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".journal-", suffix=".jsonl", dir=self.scratch)
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write("".join(lines).encode("utf-8"))
            while True:  # another run of the same job (elsewhere) may have taken the number
                dest = self.folder / f"{self._next:05d}.jsonl"
                self._next += 1
                if upload(tmp, dest, exclusive=True):
                    return len(lines)
        finally:
            tmp.unlink(missing_ok=True)


def open_journal(path: DataPath, scratch: Path) -> Journal | SegmentJournal:
    """The writer for the journal at `path` (see `journal_path`)."""
    if is_remote(path):
        assert is_upath(path)
        return SegmentJournal(path, scratch)
    assert isinstance(path, Path)
    return Journal(path)
