"""Picks the pairs the report shows as images: kept pairs, a few rejected pairs per reason, and
near-duplicate groups; and fetches their image bytes from what the pipeline already holds.

Where bytes come from (never downloaded again):
- kept pairs: the kept parts' `image` column (only the row groups that hold a picked row), or,
  when `filtered/` is gone, the release's shard tars (`<key>.<ext>` members);
- rejected pairs: the filter's work files (filters.work_images), which hold the bytes of images
  that passed the image checks: `duplicate_image` and `near_duplicate` rows. Other rejected
  images were never stored, so they are shown without a thumbnail.
Every pick is deterministic and independent of row order (wukong.report.sampling): the kept pairs
whose seeded key hash is smallest, per reason the rejected rows whose seeded hash of url, caption and
page is smallest, and the near-duplicate groups whose seeded kept-key hash is smallest.
"""

from __future__ import annotations

import logging
import tarfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.work_images import downloaded_images, task_of_part
from manifests import reasons as r
from manifests.errors import UserError
from manifests.layout import FilteredDir, ReleaseDir
from manifests.parquet_io import list_parts, parquet_file, read_parquet_checked
from manifests.schemas import MANIFEST, REJECTED, SAMPLE
from manifests.stats import FilterStats
from manifests.storage import DataPath
from wukong.report.funnel import reason_sort_key
from wukong.report.sampling import key_hashes, smallest, string_hashes

log = logging.getLogger(__name__)

# Rejection reasons whose rows passed the image checks, so that the work files hold their bytes.
REASONS_WITH_BYTES = frozenset({r.DUPLICATE_IMAGE, r.NEAR_DUPLICATE})
_KEPT_COLUMNS = ["key", "url", "caption", "query", "source", "width", "height"]
_TEXT_EXTENSIONS = frozenset({"txt", "json"})


@dataclass(frozen=True, slots=True)
class SampleLimits:
    """How many pairs to show; `seed` makes every pick reproducible."""

    kept: int = 60
    per_reason: int = 4
    groups: int = 12
    members_per_group: int = 6
    seed: int = 0


@dataclass(slots=True)
class Pair:
    key: str | None
    caption: str
    url: str | None
    source: str | None = None
    query: str | None = None
    width: int | None = None
    height: int | None = None
    reason: str | None = None
    detail: str | None = None
    image: bytes | None = field(default=None, repr=False)


@dataclass(slots=True)
class NearGroup:
    group_id: str  # the kept member's key, which every rejected member names in `detail`
    size: int  # kept member + every rejected member (not only those shown)
    kept: Pair | None
    members: list[Pair] = field(default_factory=list)


@dataclass(slots=True)
class SampleSet:
    kept: list[Pair] = field(default_factory=list)
    kept_total: int = 0
    kept_from: str | None = None  # "kept parts" | "release shards" | None
    rejected: dict[str, list[Pair]] = field(default_factory=dict)  # reason -> examples, pipeline order
    groups: list[NearGroup] = field(default_factory=list)
    group_total: int = 0
    has_work_files: bool = False


class TopK:
    """The `k` items with the smallest hashes offered so far (ties: the earlier offer)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.hashes = np.zeros(0, np.uint64)
        self.items: list[Any] = []

    def offer(self, hashes: np.ndarray, item: Callable[[int], Any]) -> None:
        """Offers one item per hash; `item(i)` makes the i-th, called only for the best k of them."""
        best = smallest(hashes, self.k)
        merged = np.concatenate([self.hashes, hashes[best]])
        pool = self.items + [item(i) for i in best.tolist()]
        keep = smallest(merged, self.k)
        self.hashes, self.items = merged[keep], [pool[i] for i in keep.tolist()]


def take_rows(path: DataPath, rows: list[int], columns: list[str], schema: pa.Schema) -> pa.Table:
    """Rows `rows` (in that order) of a parquet part, reading only the row groups that hold them; a part
    without those columns, or whose pages do not read, is a UserError."""
    try:
        return _take_rows(path, rows, columns, schema)
    except (pa.ArrowException, OSError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise UserError(f"{path}: cannot read rows of columns {', '.join(columns)} ({reason[:200]})") from None


def _take_rows(path: DataPath, rows: list[int], columns: list[str], schema: pa.Schema) -> pa.Table:
    pf = parquet_file(path)
    sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)]
    starts = np.cumsum([0, *sizes])
    group_of = {row: int(np.searchsorted(starts, row, side="right")) - 1 for row in rows}
    groups = sorted(set(group_of.values()))
    read_at, offset = {}, 0
    for g in groups:
        read_at[g] = offset
        offset += sizes[g]
    table = pf.read_row_groups(groups, columns=columns)
    index = [read_at[group_of[row]] + row - int(starts[group_of[row]]) for row in rows]
    taken = table.take(pa.array(index, pa.int64()))
    fields = [schema.field(c) for c in columns]
    return pa.Table.from_arrays([taken.column(f.name).cast(f.type) for f in fields], schema=pa.schema(fields))


def _pairs_from_kept(table: pa.Table) -> list[Pair]:
    return [Pair(row["key"], row["caption"] or "", row["url"], row["source"], row["query"], row["width"],
                 row["height"], image=row["image"]) for row in table.to_pylist()]


def _pick_rows(parts: list[DataPath], schema: pa.Schema, limits: SampleLimits) -> tuple[dict[int, list[int]], int]:
    """{part index: rows} of the `limits.kept` rows with the smallest seeded key hashes; and the row count."""
    best, total = TopK(limits.kept), 0
    for i, part in enumerate(parts):
        keys = read_parquet_checked(part, schema, ["key"]).column("key")
        total += len(keys)
        best.offer(key_hashes(keys, limits.seed), lambda row, part=i: (part, row))
    picked: dict[int, list[int]] = {}
    for i, row in best.items:
        picked.setdefault(i, []).append(row)
    return picked, total


def _in_hash_order(pairs: list[Pair], seed: int) -> list[Pair]:
    hashes = key_hashes(pa.array([p.key for p in pairs], pa.string()), seed)
    return [pairs[i] for i in smallest(hashes, len(pairs)).tolist()]


def _kept_sample(parts: list[DataPath], limits: SampleLimits) -> tuple[list[Pair], int]:
    picked, total = _pick_rows(parts, SAMPLE, limits)
    pairs: list[Pair] = []
    for part, rows in sorted(picked.items()):
        pairs += _pairs_from_kept(take_rows(parts[part], rows, [*_KEPT_COLUMNS, "image"], SAMPLE))
    return _in_hash_order(pairs, limits.seed), total


def shard_images(tar_path: DataPath, keys: set[str]) -> dict[str, bytes]:
    """key -> the image member's bytes (`<key>.<ext>`, not .txt/.json) of a webdataset shard."""
    out: dict[str, bytes] = {}
    with tar_path.open("rb") as fh, tarfile.open(fileobj=fh, mode="r:") as tar:
        for member in tar:
            name = PurePosixPath(member.name).name
            key, _, ext = name.partition(".")
            if member.isfile() and key in keys and ext.lower() not in _TEXT_EXTENSIONS:
                extracted = tar.extractfile(member)
                if extracted is not None:
                    out[key] = extracted.read()
                if len(out) == len(keys):
                    break
    return out


def _release_sample(release: ReleaseDir, limits: SampleLimits) -> tuple[list[Pair], int]:
    parts = list_parts(release.manifests)
    picked, total = _pick_rows(parts, MANIFEST, limits)
    columns = ["key", "url", "caption", "width", "height", "shard"]
    rows = []
    for part, positions in sorted(picked.items()):
        rows += take_rows(parts[part], positions, columns, MANIFEST).to_pylist()
    by_shard: dict[str, set[str]] = {}
    for row in rows:
        by_shard.setdefault(row["shard"], set()).add(row["key"])
    images: dict[str, bytes] = {}
    for shard, keys in sorted(by_shard.items()):
        tar_path = release.shards / f"{shard}.tar"
        try:
            images.update(shard_images(tar_path, keys) if tar_path.is_file() else {})
        except (OSError, tarfile.TarError) as exc:
            log.warning("report: cannot read %s (%s): its samples have no thumbnail", tar_path, exc)
    pairs = [Pair(row["key"], row["caption"] or "", row["url"], f"shard {row['shard']}", None, row["width"],
                  row["height"], image=images.get(row["key"])) for row in rows]
    return _in_hash_order(pairs, limits.seed), total


def _iter_rejected(parts: list[DataPath]) -> Iterator[tuple[int | None, pa.Table]]:
    for part in parts:
        table = read_parquet_checked(part, REJECTED, ["url", "caption", "page_url", "reason", "detail"])
        yield task_of_part(part.name), table


Found = tuple[int | None, Pair]  # a rejected pair and the task (part number) that rejected it


def _rejected_pairs(task: int | None, table: pa.Table, rows: list[int]) -> list[Found]:
    taken = table.take(pa.array(rows, pa.int64())).to_pylist()
    return [(task, Pair(None, row["caption"] or "", row["url"], reason=row["reason"], detail=row["detail"]))
            for row in taken]


def _row_hashes(table: pa.Table, seed: int) -> np.ndarray:
    """A seeded hash of each rejected row's url, caption and page: which rows are picked does not depend on
    their order, and rows that share a URL (duplicate_url) still differ."""
    text = pc.binary_join_element_wise(table.column("url"), table.column("caption"), table.column("page_url"),
                                       "\x1f", null_handling="replace", null_replacement="")
    return string_hashes(text, seed)


def _pick_groups(near: Counter[str], limits: SampleLimits) -> dict[str, int]:
    """group id -> size, for the `limits.groups` near-duplicate groups with the smallest seeded id hashes."""
    ids = sorted(near)
    chosen = smallest(key_hashes(pa.array(ids, pa.string()), limits.seed), limits.groups)
    return {ids[i]: near[ids[i]] + 1 for i in chosen.tolist()}


def _scan_rejected(fdir: FilteredDir, chosen_groups: dict[str, int], limits: SampleLimits,
                   ) -> tuple[dict[str, list[Found]], dict[str, list[Found]]]:
    """One pass over the rejected parts: (reason -> examples, group id -> members), each with its task."""
    examples: dict[str, TopK] = {}
    members: dict[str, TopK] = {}
    wanted_groups = pa.array(sorted(chosen_groups), pa.string())
    for task, table in _iter_rejected(list_parts(fdir.rejected) if fdir.rejected.is_dir() else []):
        hashes = _row_hashes(table, limits.seed)
        reason_column = pc.fill_null(table.column("reason"), "")
        for reason in pc.unique(reason_column).to_pylist():
            where = pc.indices_nonzero(pc.equal(reason_column, reason)).to_numpy()
            top = where[smallest(hashes[where], limits.per_reason)]
            found = _rejected_pairs(task, table, top.tolist())
            examples.setdefault(reason, TopK(limits.per_reason)).offer(hashes[top], found.__getitem__)
        if len(wanted_groups):
            in_group = pc.and_(pc.equal(reason_column, r.NEAR_DUPLICATE),
                               pc.fill_null(pc.is_in(table.column("detail"), value_set=wanted_groups), False))
            where = pc.indices_nonzero(in_group).to_numpy()
            for found, h in zip(_rejected_pairs(task, table, where.tolist()), hashes[where].tolist(), strict=True):
                members.setdefault(found[1].detail or "", TopK(limits.members_per_group)).offer(
                    np.array([h], np.uint64), lambda _, one=found: one)
    return ({reason: top.items for reason, top in examples.items()},
            {group: top.items for group, top in members.items()})


def _attach_work_bytes(filtered: DataPath, items: list[Found]) -> None:
    """Sets `key` from the URL and `image` from the work files, for pairs rejected after the image checks."""
    from manifests.keys import key_for_url, normalize_url

    by_task: dict[int, list[Pair]] = {}
    for task, pair in items:
        norm = normalize_url(pair.url) if pair.url else None
        pair.key = key_for_url(norm) if norm else None
        if task is not None and pair.key is not None and pair.reason in REASONS_WITH_BYTES:
            by_task.setdefault(task, []).append(pair)
    for task, pairs in sorted(by_task.items()):
        images = downloaded_images(filtered, task, [p.key for p in pairs if p.key])
        for pair in pairs:
            pair.image = images.get(pair.key or "")


def _kept_by_key(parts: list[DataPath], keys: set[str]) -> dict[str, Pair]:
    """The kept pairs with these keys (their parts' key column first, then only the rows found)."""
    found: dict[str, Pair] = {}
    for part in parts:
        if len(found) == len(keys):
            break
        column = read_parquet_checked(part, SAMPLE, ["key"]).column("key")
        rows = pc.indices_nonzero(pc.fill_null(pc.is_in(column, value_set=pa.array(sorted(keys), pa.string())),
                                               False)).to_pylist()
        if rows:
            for pair in _pairs_from_kept(take_rows(part, rows, [*_KEPT_COLUMNS, "image"], SAMPLE)):
                found[pair.key or ""] = pair
    return found


def load_samples(root_filtered: DataPath, root_release: DataPath, stats: FilterStats | None,
                 near_groups: Counter[str], limits: SampleLimits) -> SampleSet:
    """Everything the samples sections show, from whatever of filtered/ and release/ exists."""
    out = SampleSet()
    fdir, release = FilteredDir(root_filtered), ReleaseDir(root_release)
    kept_parts = list_parts(fdir.kept) if fdir.kept.is_dir() else []
    if limits.kept > 0 and kept_parts:
        out.kept, out.kept_total = _kept_sample(kept_parts, limits)
        out.kept_from = "kept parts"
    elif limits.kept > 0 and release.manifests.is_dir() and list_parts(release.manifests):
        out.kept, out.kept_total = _release_sample(release, limits)
        out.kept_from = "release shards"
    if stats is None:
        return out
    out.has_work_files = fdir.work.is_dir()
    chosen = _pick_groups(near_groups, limits)
    out.group_total = len(near_groups)
    examples, members = _scan_rejected(fdir, chosen, limits)
    everything = [item for items in (*examples.values(), *members.values()) for item in items]
    _attach_work_bytes(root_filtered, everything)
    for reason in sorted((name for name in examples if name), key=reason_sort_key):
        out.rejected[reason] = [pair for _, pair in examples[reason]]
    kept_members = _kept_by_key(kept_parts, set(chosen)) if chosen else {}
    for group_id, size in sorted(chosen.items(), key=lambda kv: (-kv[1], kv[0])):
        out.groups.append(NearGroup(group_id, size, kept_members.get(group_id),
                                    [pair for _, pair in members.get(group_id, [])]))
    return out
