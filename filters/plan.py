"""Work planning for the filter stage: the input parts cut into tasks of `ray.rows_per_task` rows,
the on-disk layout of per-task intermediate results, and the input fingerprint that guards resume.

A task is the unit of parallelism, resume and output: task N writes `kept/part-N.parquet` and
`rejected/part-N.parquet`; each pass writes `_work/<pass>/task-N.parquet` atomically, and a re-run
skips every task whose file for that pass exists.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import pyarrow as pa

from manifests.config import Config, StorageConfig
from manifests.errors import UserError
from manifests.layout import FilteredDir, part_name
from manifests.parquet_io import list_parts, read_metadata, write_json_atomic
from manifests.schemas import CANDIDATE
from manifests.storage import DataPath, data_path, is_remote, remove_tree

# The layout of the `_work/` files. Raised whenever a pass's work files change shape (2: the image
# pass's view hashes for edit-robust near-duplicates; 3: their tone word), so a run started by an older
# version starts over.
WORK_FORMAT = 3
# The columns that tie a work file's rows to their input: the row's index in its task, and the task.
ROW = "row"
TASK = "task_id"


@dataclass(frozen=True, slots=True)
class Task:
    task_id: int
    path: str
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True, slots=True)
class WorkLayout:
    out: FilteredDir

    @property
    def text_dir(self) -> DataPath:
        return self.out.work / "text"

    @property
    def image_dir(self) -> DataPath:
        return self.out.work / "image"

    def text(self, task_id: int) -> DataPath:
        return self.text_dir / part_name(task_id, "task-")

    def image(self, task_id: int) -> DataPath:
        return self.image_dir / part_name(task_id, "task-")

    @property
    def text_global(self) -> DataPath:
        return self.out.work / "text_global.parquet"

    @property
    def dedup(self) -> DataPath:
        return self.out.work / "dedup.parquet"

    def references(self, digest: str) -> DataPath:
        """The hashes of the `dedup.exclude` references, cached by their digest (filters/references.py)."""
        return self.out.work / f"references-{digest[:16]}.parquet"

    @property
    def fingerprint(self) -> DataPath:
        return self.out.work / "input.json"

    def kept(self, task_id: int) -> DataPath:
        return self.out.kept / part_name(task_id)

    def rejected(self, task_id: int) -> DataPath:
        return self.out.rejected / part_name(task_id)


def _check_candidate_schema(path: DataPath) -> int:
    try:
        meta = read_metadata(path)
        schema = meta.schema.to_arrow_schema()
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserError(f"{path}: not a readable parquet file ({str(exc).splitlines()[0]})") from None
    missing = [f.name for f in CANDIDATE if f.name not in schema.names]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}")
    for f in CANDIDATE:
        got = schema.field(f.name).type
        if not _same_kind(got, f.type):
            raise UserError(f"{path}: column {f.name} has type {got}, expected {f.type}")
    return meta.num_rows


def _same_kind(got: pa.DataType, want: pa.DataType) -> bool:
    """Whether a column of type `got` reads as `want` without changing its meaning (all-null columns do)."""
    if pa.types.is_dictionary(got):
        got = got.value_type
    if got == want or pa.types.is_null(got):
        return True
    if pa.types.is_string(want):
        return pa.types.is_string(got) or pa.types.is_large_string(got)
    if pa.types.is_integer(want):
        return pa.types.is_integer(got)
    if pa.types.is_timestamp(want):
        return pa.types.is_timestamp(got)
    return False


def plan_tasks(in_dir: DataPath, rows_per_task: int, storage: StorageConfig | None = None) -> list[Task]:
    """Cuts every candidate part into tasks; checks each part's schema first (one-line errors)."""
    parts = list_parts(data_path(in_dir, storage) if isinstance(in_dir, str) else in_dir)
    if not parts:
        raise UserError(f"no candidate parquet parts in {in_dir}")
    if rows_per_task < 1:
        raise UserError("config key ray.rows_per_task must be >= 1")
    tasks: list[Task] = []
    with ThreadPoolExecutor(max_workers=16) as pool:  # footers on object storage: one round trip each
        counts = list(pool.map(_check_candidate_schema, parts))
    for path, n in zip(parts, counts, strict=True):
        for start in range(0, n, rows_per_task):
            where = str(path) if is_remote(path) else str(path.resolve())
            tasks.append(Task(len(tasks), where, start, min(start + rows_per_task, n)))
    return tasks


def fingerprint(tasks: list[Task], cfg: Config, references_digest: str | None = None) -> dict[str, object]:
    files = sorted({t.path for t in tasks})
    with ThreadPoolExecutor(max_workers=16) as pool:
        stats = list(pool.map(lambda f: data_path(f, cfg.storage).stat(), files))
    stat = [[f, st.st_size, int(st.st_mtime)] for f, st in zip(files, stats, strict=True)]
    # Settings that change the output; download settings (timeouts, concurrency) do not invalidate work,
    # except whether opt-out headers are honoured.
    relevant: dict[str, object] = {k: v for k, v in cfg.to_dict().items() if k in ("text", "image", "dedup", "privacy")}
    relevant["download.respect_opt_out"] = cfg.download.respect_opt_out
    relevant["work_format"] = WORK_FORMAT  # work files of an older layout are never resumed
    if cfg.privacy.opt_out_lists:  # an entry added to a list must reach rows already filtered
        from filters.opt_out_list import load_opt_out_lists

        relevant["opt_out_lists_sha256"] = load_opt_out_lists(cfg.privacy.opt_out_lists, cfg.storage).digest
    if references_digest is not None:  # a reference image added, changed or removed (dedup.exclude)
        relevant["references_sha256"] = references_digest
    digest = hashlib.sha256(json.dumps([stat, relevant, [asdict(t) for t in tasks]], sort_keys=True).encode())
    return {"inputs": stat, "config_and_tasks_sha256": digest.hexdigest()}


def _remove_temp_files(layout: WorkLayout) -> None:
    """The hidden temporary files (`.<name>.<hex>.tmp`) a killed run left mid-write: never read, only
    in the way."""
    for path in layout.out.root.glob(".*.tmp"):
        path.unlink(missing_ok=True)
    for folder in (layout.out.work, layout.out.kept, layout.out.rejected):
        if folder.is_dir():
            for path in folder.rglob(".*.tmp"):
                path.unlink(missing_ok=True)


def prepare_work(layout: WorkLayout, tasks: list[Task], cfg: Config, references_digest: str | None = None) -> bool:
    """Keeps previous work when it was made from the same input, config and reference images;
    otherwise starts over. Returns True when earlier work is being resumed.
    """
    fp = fingerprint(tasks, cfg, references_digest)
    if layout.fingerprint.is_file():
        try:
            old = json.loads(layout.fingerprint.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            old = None
        if old == fp:
            _remove_temp_files(layout)
            return True
    for d in (layout.out.work, layout.out.kept, layout.out.rejected):
        remove_tree(d)
    if layout.out.stats.exists():
        layout.out.stats.unlink()
    write_json_atomic(fp, layout.fingerprint)
    return False
