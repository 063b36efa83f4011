"""The one Filter interface: compute a statistic into columns, then decide from those columns alone.

A filter never drops rows. It returns, per row, a rejection reason (null = keep) and a detail. The
runner applies filters cheapest first, each only to the rows still alive, and splits kept from
rejected once, at the end. Filters that load something (a model, a dictionary, an automaton) do it
in `__init__`, which Ray runs once per actor.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from manifests.config import Config

REASON = "reason"
DETAIL = "detail"


@dataclass(slots=True)
class Verdict:
    """Per-row decision of one filter: `reason` is null where the row is kept."""

    reason: pa.Array
    detail: pa.Array

    @classmethod
    def keep_all(cls, n: int) -> Verdict:
        nulls = pa.nulls(n, pa.string())
        return cls(nulls, nulls)


class Filter(ABC):
    """Registry key, YAML section and stats prefix are `name`. A filter that repairs what it checks
    (mojibake) names the existing columns it rewrites in `rewrites`; no other column is written back."""

    name: ClassVar[str]
    rewrites: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    @abstractmethod
    def compute_stats(self, batch: pa.Table) -> dict[str, pa.Array]:
        """Pure: the statistic(s) this filter decides on, one value per row, as new columns."""

    @abstractmethod
    def decide(self, batch: pa.Table) -> Verdict:
        """From `batch` plus the columns of `compute_stats` alone: reason (or null) and detail per row."""

    def __call__(self, batch: pa.Table) -> tuple[pa.Table, Verdict]:
        """Adds this filter's stat columns to `batch` and decides."""
        for name, column in self.compute_stats(batch).items():
            if name in batch.column_names:
                batch = batch.set_column(batch.schema.get_field_index(name), name, column)
            else:
                batch = batch.append_column(name, column)
        return batch, self.decide(batch)


def ensure_verdict_columns(table: pa.Table) -> pa.Table:
    for name in (REASON, DETAIL):
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    return table


def alive_mask(table: pa.Table) -> pa.Array:
    return pc.is_null(table.column(REASON)).combine_chunks()


def apply_filter(table: pa.Table, flt: Filter) -> pa.Table:
    """Runs `flt` on the rows of `table` that no earlier filter rejected; writes its verdicts back.

    Stat columns the filter adds are null on rows it did not see; columns it `rewrites` change only on
    the rows it saw.
    """
    table = ensure_verdict_columns(table)
    mask = alive_mask(table)
    alive_idx = pc.indices_nonzero(mask)
    if len(alive_idx) == 0:
        return table
    subset = table.take(alive_idx)
    subset, verdict = flt(subset)
    n = table.num_rows
    # Scatter the subset's columns back to full length: position i of the subset is row alive_idx[i].
    positions = scatter_positions(alive_idx.to_numpy(), n)
    for name in subset.column_names:
        if name in (REASON, DETAIL):
            continue
        if name not in table.column_names:
            table = table.append_column(name, subset.column(name).take(positions))
        elif name in flt.rewrites:
            column = pc.if_else(mask, subset.column(name).take(positions), table.column(name))
            table = table.set_column(table.schema.get_field_index(name), name, column)
    new_reason = pc.if_else(mask, verdict.reason.take(positions), table.column(REASON))
    new_detail = pc.if_else(mask, verdict.detail.take(positions), table.column(DETAIL))
    table = table.set_column(table.schema.get_field_index(REASON), REASON, new_reason)
    return table.set_column(table.schema.get_field_index(DETAIL), DETAIL, new_detail)


def scatter_positions(alive_idx: np.ndarray, n: int) -> pa.Array:
    """For each of n rows, its position in the alive subset, or null."""
    positions = np.full(n, -1, dtype=np.int64)
    positions[alive_idx] = np.arange(len(alive_idx), dtype=np.int64)
    return pa.array(positions, mask=positions < 0)


def apply_filters(table: pa.Table, filters: list[Filter]) -> pa.Table:
    for flt in filters:
        table = apply_filter(table, flt)
    return table
