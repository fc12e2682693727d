"""The shape of the code: imports run one way, only the CLI knows click, no import circle, no
file too long to live in. Read from the source (every import, module level or not)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("schemas", "samplers", "annotation", "curation")
#: What each top-level package may import of the others (schemas ← samplers, annotation ←
#: curation).
ALLOWED = {"schemas": set(), "samplers": {"schemas"}, "annotation": {"schemas"},
           "curation": {"schemas", "samplers", "annotation"}}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES}
    return found


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def test_only_the_cli_imports_click_and_nothing_imports_the_cli():
    outside = {m: sorted(i for i in deps if i == "click" or i.startswith("click.")
                         or i == "curation.cli" or i.startswith("curation.cli."))
               for m, deps in IMPORTS.items()
               if not (m == "curation.cli" or m.startswith("curation.cli.")
                       or m == "curation.__main__")}
    assert {m: d for m, d in outside.items() if d} == {}


def test_imports_run_one_way_between_the_top_level_packages():
    wrong = {}
    for module, deps in IMPORTS.items():
        top = module.split(".")[0]
        others = {d.split(".")[0] for d in deps} & set(PACKAGES) - {top}
        if others - ALLOWED[top]:
            wrong[module] = sorted(others - ALLOWED[top])
    assert wrong == {}


def test_no_import_circle():
    graph = {m: {d for d in deps if d in MODULES and d != m} for m, deps in IMPORTS.items()}
    # a package's __init__ re-exporting its modules is not a circle with them
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("folder", [*PACKAGES, "tests", "bench"])
def test_no_file_over_400_lines(folder):
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / folder).rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
