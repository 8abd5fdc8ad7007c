"""Dependencies point one way: infra -> apps -> nothing; the injector uses apps only; nothing imports tests.

The rule is read from the import statements (static), so a violation fails here before any code runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> the top-level names of ours it must never import (third-party packages are free, pulumi aside)
FORBIDDEN: dict[str, frozenset[str]] = {
    "apps": frozenset({"pulumi", "pulumi_kubernetes", "pulumi_random", "pulumi_policy", "infra", "injector",
                       "harness", "policy", "tests"}),
    "injector": frozenset({"pulumi", "pulumi_kubernetes", "pulumi_random", "pulumi_policy", "infra", "harness",
                           "policy", "tests"}),
    "infra": frozenset({"injector", "harness", "policy", "tests"}),
    "harness": frozenset({"tests"}),
    "policy": frozenset({"infra", "apps", "injector", "harness", "tests"}),
}


def imported_roots(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in a module, including imports inside functions."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(root: Path) -> list[str]:
    problems = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, name in imported_roots(path.read_text(encoding="utf-8")):
                if name in forbidden:
                    problems.append(f"{path.relative_to(root)}:{line} imports {name}")
    return problems


def test_the_project_imports_one_way() -> None:
    assert violations(ROOT) == []


@pytest.mark.parametrize(("package", "statement"), [
    ("apps", "import pulumi"),
    ("apps", "from infra.components import base"),
    ("injector", "from infra import config"),
    ("apps", "def late():\n    from injector import cli\n"),
    ("infra", "from harness.checks import manifest"),
    ("policy", "from harness import checks"),
    ("harness", "import tests.support"),
])
def test_a_purpose_built_violation_is_caught(tmp_path: Path, package: str, statement: str) -> None:
    (tmp_path / package).mkdir()
    (tmp_path / package / "bad.py").write_text(statement + "\n")
    [problem] = violations(tmp_path)
    assert problem.startswith(f"{package}/bad.py:")


def test_relative_and_allowed_imports_pass(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "ok.py").write_text("from . import contracts\nimport numpy\nfrom apps.model import x\n")
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "ok.py").write_text("import pulumi\nfrom apps.worker import settings\n")
    assert violations(tmp_path) == []
