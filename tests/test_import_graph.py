"""The first-party modules import each other without a circle.

Every `import` and `from ... import` in crawler/, filters/, sharding/, manifests/, wukong/ and bench/
is read with `ast` (nothing is imported). Which imports are edges of the graph:
- module-level imports: yes;
- imports inside a function (deferred imports): yes. Deferring an import lets a circle load, it
  does not remove it: the two modules still need each other;
- imports under `if TYPE_CHECKING:`: yes. A type-only import is a dependency of the design: the
  module's signatures name the other module's types;
- the parent packages that Python loads before a submodule (`import a.b.c` runs `a/__init__.py`
  and `a/b/__init__.py` first): no. Otherwise every package whose `__init__` re-exports its
  submodules would be a circle with each of them. `from a.b import c` is an edge to the module
  `a.b.c` when there is one, else to `a.b` (the name is defined in `a/b/__init__.py`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "crawler", "filters", "manifests", "sharding", "wukong")

Edge = tuple[str, str, str]  # (imported module, "file:line", kind: top | deferred | type-checking)


def module_files(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the packages."""
    out: dict[str, Path] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with its kind, found anywhere in the module."""
    found: list[tuple[ast.Import | ast.ImportFrom, str]] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append((child, kind))
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), "type-checking")
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), kind)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, "deferred" if kind == "top" else kind)
            else:
                visit(child, kind)

    visit(tree, "top")
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The first-party module `name` is, or the nearest package above it that is one."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_edges(modules: dict[str, Path], root: Path) -> dict[str, list[Edge]]:
    edges: dict[str, list[Edge]] = {m: [] for m in modules}
    for mod, path in modules.items():
        is_pkg = path.name == "__init__.py"
        for node, kind in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            where = f"{path.relative_to(root).as_posix()}:{node.lineno}"
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from the package this module is in (or is)
                    pkg = mod if is_pkg else mod.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        pkg = pkg.rpartition(".")[0]
                    base = f"{pkg}.{base}" if base else pkg
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                resolved = _resolve(target, modules)
                if resolved is not None and resolved != mod:
                    edges[mod].append((resolved, where, kind))
    return edges


def circles(edges: dict[str, list[Edge]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    graph = {m: sorted({t for t, _, _ in es}) for m, es in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, 0)]  # iterative: (node, next child position)
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            children = graph[node]
            if i < len(children):
                work.append((node, i + 1))
                child = children[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(out)


def describe(comp: list[str], edges: dict[str, list[Edge]]) -> str:
    inside = set(comp)
    lines = [f"circle among {', '.join(comp)}:"]
    for mod in comp:
        lines += [f"  {mod} -> {t}  ({where}, {kind})" for t, where, kind in sorted(set(edges[mod])) if t in inside]
    return "\n".join(lines)


def test_first_party_modules_import_each_other_without_a_circle() -> None:
    modules = module_files(REPO, PACKAGES)
    assert len(modules) > 100 and "manifests.config" in modules and "wukong.demoweb.web" in modules
    edges = import_edges(modules, REPO)
    assert ("manifests.errors" in {t for t, _, _ in edges["manifests.config"]})  # the graph is read at all
    found = circles(edges)
    assert not found, "\n".join(describe(c, edges) for c in found)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("back_edge", "kind"), [
    ("from pkg.a import f\n", "top"),
    ("def g():\n    from pkg import a\n    return a\n", "deferred"),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import f\n", "type-checking"),
    ("import typing\nif typing.TYPE_CHECKING:\n    import pkg.a\n", "type-checking"),
])
def test_a_circle_is_found_whatever_kind_of_import_closes_it(tmp_path: Path, back_edge: str, kind: str) -> None:
    _write(tmp_path, {"pkg/__init__.py": "from pkg.a import f\n", "pkg/a.py": "from pkg.sub.b import h\ndef f(): ...\n",
                      "pkg/sub/__init__.py": "", "pkg/sub/b.py": back_edge + "def h(): ...\n",
                      "pkg/c.py": "import pkg.sub.b\nimport numpy\n"})
    modules = module_files(tmp_path, ("pkg",))
    edges = import_edges(modules, tmp_path)
    assert circles(edges) == [["pkg.a", "pkg.sub.b"]]
    assert [(t, k) for t, _, k in edges["pkg.sub.b"]] == [("pkg.a", kind)]
    assert "pkg/sub/b.py" in describe(["pkg.a", "pkg.sub.b"], edges)


def test_a_package_re_exporting_its_submodules_is_not_a_circle(tmp_path: Path) -> None:
    _write(tmp_path, {"pkg/__init__.py": "from pkg.a import f\nfrom pkg.b import g\n",
                      "pkg/a.py": "def f(): ...\n", "pkg/b.py": "from pkg.a import f\ndef g(): ...\n"})
    edges = import_edges(module_files(tmp_path, ("pkg",)), tmp_path)
    assert circles(edges) == []
    assert sorted(t for t, _, _ in edges["pkg"]) == ["pkg.a", "pkg.b"]
