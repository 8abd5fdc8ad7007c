"""The harness's modules import one way: no module imports another that imports it back (directly or through
others), so each check module stands on the query API alone and the registry is imported by nobody in it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, known: set[str]) -> set[str]:
    """The modules of `known` a module's source imports (absolute imports, including those inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module in known:
                found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if f"{node.module}.{alias.name}" in known)  # from harness import sdk
    return found


def import_graph(root: Path, package: str = "harness") -> dict[str, set[str]]:
    paths = sorted((root / package).rglob("*.py"))
    known = {module_name(path, root) for path in paths}
    return {module_name(path, root): imported_modules(path.read_text(encoding="utf-8"), known) - {module_name(path, root)}
            for path in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per module that can reach itself, as the path back to it."""
    found = []
    for start in sorted(graph):
        paths = [[start]]
        seen: set[str] = set()
        while paths:
            path = paths.pop()
            for target in sorted(graph.get(path[-1], ())):
                if target == start:
                    found.append([*path, start])
                    paths = []
                    break
                if target not in seen:
                    seen.add(target)
                    paths.append([*path, target])
    return found


def test_the_harness_has_no_import_cycle() -> None:
    assert cycles(import_graph(ROOT)) == []


def test_a_check_importing_the_registry_back_is_caught(tmp_path: Path) -> None:
    checks = tmp_path / "harness" / "checks"
    checks.mkdir(parents=True)
    (tmp_path / "harness" / "__init__.py").write_text("")
    (tmp_path / "harness" / "query.py").write_text("import json\n")
    (checks / "__init__.py").write_text("from harness.checks.secrets import check_secrets\n")
    (checks / "secrets.py").write_text("def check_secrets(evaluation):\n    from harness.checks import ALL_CHECKS\n")
    assert cycles(import_graph(tmp_path)) == [
        ["harness.checks", "harness.checks.secrets", "harness.checks"],
        ["harness.checks.secrets", "harness.checks", "harness.checks.secrets"],
    ]


def test_every_check_has_its_own_module_importing_no_other_check() -> None:
    from harness.checks import ALL_CHECKS

    modules = [check.__module__ for check in ALL_CHECKS.values()]
    assert len(set(modules)) == len(modules)
    assert all(module.startswith("harness.checks.") for module in modules)
    graph = import_graph(ROOT)
    assert {module: graph[module] & {*modules, "harness.checks"} for module in modules
            if graph[module] & {*modules, "harness.checks"}} == {}  # a check stands on the query API, not on another
