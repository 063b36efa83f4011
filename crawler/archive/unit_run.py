"""One unit of an archive crawl, start to end (or to where it failed): the body of one Ray task.

Pairs are buffered and committed as a part (`part-warc-NNNNN.parquet`, claimed like every crawl
part: crawler.parts) at a step boundary once `crawl.rows_per_part` rows are waiting, with the
unit's snapshot in the part's metadata and then in its state file (crawler.archive.units). A file
that cannot be opened, or whose transfer breaks for good, ends the unit as a named failure without
`done`: the next run goes on from the last committed step.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from crawler.archive.extract import ArchiveSteps, Step
from crawler.archive.reader import read_records
from crawler.archive.sources import SourceError, open_stream
from crawler.archive.units import PARTS_SPIDER, Progress, Unit, save_progress, staging_dir, state_root, with_metadata
from crawler.items import CandidatePair
from crawler.parts import PartWriter
from crawler.pipelines import to_table
from manifests.config import CrawlConfig, StorageConfig
from manifests.storage import DataPath, data_path, storage_failure

log = logging.getLogger(__name__)
READ_FAILED = "read_failed"


@dataclass(slots=True)
class UnitOutcome:
    """What a unit's task reports: its progress now, and what this run added."""

    unit: Unit
    progress: Progress
    new_rows: int
    new_counters: dict[str, int]
    new_failures: list[dict[str, str]]


class UnitWriter:
    """Buffers a unit's pairs and commits them, with the unit's snapshot, at step boundaries."""

    def __init__(self, unit: Unit, progress: Progress, out: DataPath, state_root: DataPath, rows_per_part: int,
                 staging_dir: Path) -> None:
        self.unit = unit
        self.progress = progress
        self.out = out
        self.state_root = state_root
        self.rows_per_part = max(1, rows_per_part)
        self.staging = staging_dir / f"stage-{unit.id}-{uuid.uuid4().hex[:8]}.parquet"
        self.writer: PartWriter | None = None
        self.rows: list[CandidatePair] = []
        self.counters: Counter[str] = Counter()
        self.failures: list[dict[str, str]] = []
        self.new_rows = 0
        self.new_counters: Counter[str] = Counter()
        self.new_failures: list[dict[str, str]] = []
        self.last_resume: tuple[int, int] = progress.resume  # where the last absorbed step ends

    def absorb(self, step: Step) -> None:
        """Takes one step; commits when enough rows wait (never in the middle of a step)."""
        if step.resume is not None:
            self.last_resume = (step.resume.offset, step.resume.index)
        self.rows.extend(step.pairs)
        self.counters.update(step.counts)
        if step.pairs:
            self.counters["pairs"] += len(step.pairs)
        self.failures.extend(f.to_dict() for f in step.failures)
        if step.resume is None:
            self.commit(None)
        elif len(self.rows) >= self.rows_per_part:
            self.commit(self.last_resume)

    def fail(self, kind: str, detail: str, where: str) -> None:
        """A failure of the file itself (cannot open, transfer broke): recorded with the last commit."""
        self.counters[f"failed/{kind}"] += 1
        self.failures.append({"where": where, "kind": kind, "detail": detail})
        log.warning("%s: %s: %s", where, kind, detail)

    def commit(self, resume: tuple[int, int] | None) -> None:
        """Writes the waiting rows as a part (if any) and the unit's snapshot; `resume` None = done."""
        p = self.progress
        p.rows += len(self.rows)
        p.seq += 1
        p.counters = dict(Counter(p.counters) + self.counters)
        p.add_failures(self.failures)
        if resume is None:
            p.done, p.resume = True, (0, 0)
        else:
            p.resume = resume
        if self.rows:
            if self.writer is None:
                self.writer = PartWriter(self.out, PARTS_SPIDER, self.staging)
            path = self.writer.commit(with_metadata(to_table(self.rows), self.unit, p))
            p.parts.append(path.name)
        self.new_rows += len(self.rows)
        self.new_counters.update(self.counters)
        self.new_failures.extend(self.failures)
        save_progress(self.state_root, self.unit, p)
        self.rows, self.counters, self.failures = [], Counter(), []

    def commit_failure(self) -> None:
        """After a failure of the file: what was read up to the last step stays, the unit is not done
        (every buffered pair is from a step that ends at or before `last_resume`)."""
        self.commit(self.last_resume)

    def outcome(self) -> UnitOutcome:
        return UnitOutcome(self.unit, self.progress, self.new_rows, dict(self.new_counters), self.new_failures)


def _warc_steps(unit: Unit, progress: Progress, cfg: CrawlConfig, storage: StorageConfig | None,
                writer: UnitWriter) -> None:
    """Reads the file from its resume position through to its end, feeding the writer."""
    position = progress.position
    with open_stream(unit.location, cfg, storage, offset=position.offset) as stream:
        steps: Iterable[Step] = ArchiveSteps(unit.location, cfg.cc_languages, cfg.user_agent).steps(
            read_records(stream, position))
        try:
            for step in steps:
                writer.absorb(step)
        except (SourceError, OSError) as exc:
            writer.fail(READ_FAILED, str(exc), f"{unit.location}@{writer.last_resume[0]}")
            writer.commit_failure()


UnitBody = Callable[[Unit, Progress, CrawlConfig, StorageConfig | None, UnitWriter], None]


def run_unit_task(body: UnitBody, unit_fields: dict[str, Any], progress_fields: dict[str, Any], out: str,
                  crawl: dict[str, Any], storage: dict[str, Any] | None, env: dict[str, str]) -> dict[str, Any]:
    """A unit's Ray task around `body` (the arguments are plain data: they travel to any node). A file
    that cannot be opened or read ends the unit as a named failure (`unreadable`), not done."""
    os.environ.update(env)
    unit = Unit(**unit_fields)
    progress = Progress.from_dict(progress_fields)
    progress.node = _node_id()
    cfg = CrawlConfig(**crawl)
    store = StorageConfig(**storage) if storage else None
    out_dir = data_path(out, store)
    writer = UnitWriter(unit, progress, out_dir, state_root(out_dir, unit.spider), cfg.rows_per_part,
                        staging_dir(out_dir, unit.spider))
    try:
        body(unit, progress, cfg, store, writer)
    except (SourceError, OSError, pa.ArrowInvalid) as exc:
        writer.fail("unreadable", str(exc).splitlines()[0] if str(exc) else type(exc).__name__, unit.label)
        writer.commit_failure()
    except Exception as exc:  # the object-storage client's own errors (credentials, endpoint) only
        message = storage_failure(exc)
        if message is None:
            raise
        writer.fail("unreadable", message, unit.label)
        writer.commit_failure()
    outcome = writer.outcome()
    return {"unit": asdict(outcome.unit), "progress": asdict(outcome.progress), "new_rows": outcome.new_rows,
            "new_counters": outcome.new_counters, "new_failures": outcome.new_failures}


def _node_id() -> str:
    """The Ray node this task runs on ("" outside Ray)."""
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""


def run_warc_unit(*args: Any) -> dict[str, Any]:
    """The Ray task for one WARC/WAT file."""
    return run_unit_task(_warc_steps, *args)
