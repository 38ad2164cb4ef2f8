"""No import circles between the project's modules.

Every import counts as an arrow: top-level, inside a function, and under TYPE_CHECKING, since a
circle hidden in any of them still ties the modules into one piece that cannot be read, tested
or moved apart.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "orchestrator", "skills", "connectors", "db")


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:  # Alembic loads these by path, not by import
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imported(module: str, path: Path) -> set[str]:
    """Every dotted name the module imports, with relative imports made absolute."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    return {
        module: {m for n in _imported(module, path) if (m := owner(n)) and m != module}
        for module, path in modules.items()
    }


def test_the_graph_sees_function_level_and_type_checking_imports() -> None:
    graph = _graph()

    assert "bot.blocks" in graph["orchestrator.bootstrap"]  # inside slack_cards()
    assert "orchestrator.notices.post" in graph["orchestrator.engine.events"]  # under TYPE_CHECKING


def test_no_module_imports_itself_through_others() -> None:
    try:
        TopologicalSorter(_graph()).prepare()
    except CycleError as error:
        # graphlib lists the circle as "is imported by"; reversed it reads as imports.
        circle = " imports ".join(reversed(error.args[1]))
        raise AssertionError(f"import circle: {circle}") from None
