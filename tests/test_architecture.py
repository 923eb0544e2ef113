"""The core's layers: no import cycle in `bouquet/` nor in any plugin, function-level imports counted
(those under `if TYPE_CHECKING:` are not); the import-linter contracts (`.importlinter`) hold."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [(ROOT, "bouquet")] + [(path.parent, path.name) for path in sorted(ROOT.glob("plugins/*/bouquet_*"))
                                 + sorted(ROOT.glob("plugins/*/*/bouquet_*")) if path.is_dir()]


def _graph(root: Path, package: str) -> dict[str, set[str]]:
    modules = {}
    for path in (root / package).rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {module: set() for module in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = {node.lineno for guard in ast.walk(tree)
                   if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
                   for statement in guard.body for node in ast.walk(statement) if hasattr(node, "lineno")}
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = module.split(".") if is_package else module.split(".")[:-1]
                    base = ".".join(parent[: len(parent) - (node.level - 1)] + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                found = resolve(target) if target.startswith(package + ".") else None
                if found and found not in (module, package):
                    graph[module].add(found)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in graph:
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize(("root", "package"), PACKAGES, ids=[package for _root, package in PACKAGES])
def test_no_import_cycle(root: Path, package: str) -> None:
    assert _cycles(_graph(root, package)) == []


def test_a_cycle_is_detected(tmp_path: Path) -> None:
    package = tmp_path / "knot"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from knot import b\n")
    (package / "b.py").write_text("from knot.a import f\n")
    assert _cycles(_graph(tmp_path, "knot")) == [["knot.a", "knot.b"]]


def test_the_import_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter), "--config", str(ROOT / ".importlinter")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
