"""Filter-stage statistics that add up: each worker counts its part, the driver sums them."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from manifests.errors import UserError
from manifests.storage import DataPath, as_path


@dataclass(slots=True)
class FilterStats:
    """`{"input": n, "kept": n, "rejected": {reason: n}}`; input == kept + sum(rejected)."""

    input: int = 0
    kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: FilterStats) -> FilterStats:
        return FilterStats(self.input + other.input, self.kept + other.kept, self.rejected + other.rejected)

    @property
    def balanced(self) -> bool:
        return self.input == self.kept + sum(self.rejected.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "kept": self.kept,
            "rejected": dict(sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0]))),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FilterStats:
        try:
            rejected = Counter({str(k): int(v) for k, v in data["rejected"].items()})
            return cls(int(data["input"]), int(data["kept"]), rejected)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise UserError("stats are malformed: expected input, kept and rejected") from None

    @classmethod
    def load(cls, path: str | DataPath) -> FilterStats:
        p = as_path(path)
        if not p.is_file():
            raise UserError(f"stats file not found: {p}")
        try:
            return cls.from_dict(json.loads(p.read_text(encoding="utf-8")))
        except json.JSONDecodeError:
            raise UserError(f"{p}: not valid JSON") from None
