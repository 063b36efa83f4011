"""The units of an archive crawl and their progress, kept so that a killed run loses and repeats nothing.

A unit is one WARC or WAT file (`--spider warc`) or one row group of one index file (`--spider
cc-index`). Its progress is a snapshot: where reading goes on (`resume`), the rows committed so
far, cumulative counters and the named failures. Every part a unit commits carries the snapshot
that holds right after it (parquet key-value metadata `wukong.archive`), and the unit's state file
`OUT/_jobs/<spider>/units/<id>.json` repeats the latest snapshot with the list of its parts. A run
killed between a part and its state file loses nothing: the next run reads the footers of the
parts that no state file lists and moves their units on (`recover_orphans`).
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from crawler.archive.records import Position
from crawler.jobs import JOBS_DIR, jobs_root
from crawler.parts import existing_parts
from manifests.parquet_io import read_metadata, write_json_atomic
from manifests.storage import DataPath

META_KEY = b"wukong.archive"
MAX_NAMED_FAILURES = 200  # per unit; beyond that failures are only counted
UNITS_DIR = "units"
PARTS_SPIDER = "warc"  # both archive spiders write `part-warc-NNNNN.parquet`


@dataclass(frozen=True, slots=True)
class Unit:
    spider: str  # warc | cc-index
    location: str  # the archive file, or the index file
    row_group: int | None = None

    @property
    def id(self) -> str:
        text = f"{self.spider}\n{self.location}\n{self.row_group}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]

    @property
    def label(self) -> str:
        return self.location if self.row_group is None else f"{self.location}#rg{self.row_group}"


@dataclass(slots=True)
class Progress:
    """Where a unit stands: `resume` None with `done` means finished; `parts` are its committed parts."""

    resume: tuple[int, int] = (0, 0)
    done: bool = False
    rows: int = 0
    seq: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    node: str = ""  # the Ray node that last worked on the unit

    @property
    def position(self) -> Position:
        return Position(*self.resume)

    def snapshot(self) -> dict[str, Any]:
        """What a part's metadata carries (everything but the parts list)."""
        data = asdict(self)
        data.pop("parts")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Progress:
        return cls(resume=tuple(data.get("resume") or (0, 0)),  # type: ignore[arg-type]
                   done=bool(data.get("done")), rows=int(data.get("rows", 0)), seq=int(data.get("seq", 0)),
                   counters={str(k): int(v) for k, v in (data.get("counters") or {}).items()},
                   failures=list(data.get("failures") or []), parts=list(data.get("parts") or []),
                   node=str(data.get("node") or ""))

    def add_failures(self, failures: list[dict[str, str]]) -> None:
        room = MAX_NAMED_FAILURES - len(self.failures)
        self.failures.extend(failures[:max(room, 0)])


def state_root(out: DataPath, spider: str) -> DataPath:
    """`OUT/_jobs/<spider>`: the units' state files, wherever OUT is (object storage included)."""
    return out / JOBS_DIR / spider


def staging_dir(out: DataPath, spider: str) -> Path:
    """A local folder for parts being written (`OUT/_jobs/<spider>` locally, a local cache folder for
    an object-storage OUT)."""
    return jobs_root(out) / spider


def units_dir(state_root: DataPath) -> DataPath:
    return state_root / UNITS_DIR


def state_file(state_root: DataPath, unit: Unit) -> DataPath:
    return units_dir(state_root) / f"{unit.id}.json"


def save_progress(state_root: DataPath, unit: Unit, progress: Progress) -> None:
    write_json_atomic({"unit": asdict(unit), **asdict(progress)}, state_file(state_root, unit))


def _load_one(path: DataPath) -> Progress | None:
    try:
        return Progress.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, AttributeError):  # torn by nothing (atomic), so foreign: start over
        return None


def part_metadata(unit: Unit, progress: Progress) -> dict[bytes, bytes]:
    payload = {"unit": unit.id, **progress.snapshot()}
    return {META_KEY: json.dumps(payload, ensure_ascii=False).encode("utf-8")}


def with_metadata(table: pa.Table, unit: Unit, progress: Progress) -> pa.Table:
    return table.replace_schema_metadata({**(table.schema.metadata or {}), **part_metadata(unit, progress)})


def _footer_snapshot(path: DataPath) -> dict[str, Any] | None:
    try:
        meta = read_metadata(path).metadata or {}
        raw = meta.get(META_KEY)
        return json.loads(raw) if raw else None
    except (OSError, ValueError, pa.ArrowInvalid):
        return None


def load_progress(out: DataPath, state_root: DataPath, units: list[Unit], threads: int = 16) -> dict[str, Progress]:
    """Every unit's progress (new units start at the beginning), moved on by any orphan part."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        loaded = list(pool.map(lambda u: _load_one(state_file(state_root, u)), units))
    progress = {u.id: p or Progress() for u, p in zip(units, loaded, strict=True)}
    recover_orphans(out, state_root, {u.id: u for u in units}, progress)
    return progress


def recover_orphans(out: DataPath, state_root: DataPath, units: dict[str, Unit],
                    progress: dict[str, Progress]) -> list[str]:
    """Parts committed by a run killed before it wrote its unit's state file: their snapshots are
    newer than the state files'; the units move on to them. Returns the orphans' names."""
    listed = {name for p in progress.values() for name in p.parts}
    orphans = [p for p in existing_parts(out, PARTS_SPIDER) if p.name not in listed]
    found: list[str] = []
    for path in orphans:
        snap = _footer_snapshot(path)
        if not snap or snap.get("unit") not in units:
            continue
        unit_id = str(snap["unit"])
        current = progress[unit_id]
        newer = Progress.from_dict(snap)
        newer.parts = [*current.parts, path.name]
        if newer.seq > current.seq:
            progress[unit_id] = newer
            save_progress(state_root, units[unit_id], newer)
            found.append(path.name)
    return found
