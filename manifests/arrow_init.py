"""pyarrow without the pandas import it does not need: called first by each process of the stages.

pyarrow 26's first `pa.array` (or `pa.scalar`, `pa.table` ...) of the process imports pandas, only to
ask whether the value is a pandas object; that import is 0.26-0.29 CPU-s (a third of a filter
worker's start). No stage hands pyarrow a pandas object. `defer_pandas` lets pyarrow ask that question
once while pandas cannot be imported; pyarrow remembers the answer for that check only, so pandas is
imported as usual by whatever really uses it later (`to_pandas`, `from_pandas` and img2dataset work
as before: tests/test_arrow_init.py).
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

_done = False


class _NoPandas(MetaPathFinder):
    def find_spec(self, name: str, path: object = None, target: ModuleType | None = None) -> ModuleSpec | None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("pandas deferred by manifests.arrow_init", name=name)
        return None


def defer_pandas() -> None:
    """Once per process, before its first `pa.array`; a no-op where pandas is already imported."""
    global _done
    if _done:
        return
    _done = True
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)
    try:
        pa.array([0])  # pyarrow's one question: is pandas there?
    finally:
        sys.meta_path.remove(blocker)
