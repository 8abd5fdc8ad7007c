"""Every shell script of the repository passes shellcheck, and a broken one fails it. (shellcheck on the
workflows' `run:` steps runs inside actionlint: tests/unit/test_workflows.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.paths import PROJECT_ROOT
from tests.conftest import need_binary

SHELLS = ("sh", "bash", "dash", "ksh")
NOT_OURS = {".git", ".venv", ".tools", "build", "node_modules", ".pytest_cache", ".ruff_cache"}


def is_shell_script(path: Path) -> bool:
    """A .sh/.bash file, or any file whose #! line names a shell (.ci/run has no extension)."""
    if path.suffix in (".sh", ".bash"):
        return True
    try:
        with path.open("rb") as handle:
            first = handle.readline(200)
    except OSError:
        return False
    if not first.startswith(b"#!"):
        return False
    words = first[2:].decode("utf-8", "replace").split()
    names = [Path(word).name for word in words[:2]]  # "/bin/bash" or "/usr/bin/env bash"
    return bool(names) and (names[0] in SHELLS or (names[0] == "env" and names[1:2] and names[1] in SHELLS))


def shell_scripts(root: Path = PROJECT_ROOT) -> list[Path]:
    return sorted(path for path in root.rglob("*")
                  if path.is_file() and not NOT_OURS & set(path.relative_to(root).parts) and is_shell_script(path))


def shellcheck(*paths: Path) -> subprocess.CompletedProcess[str]:
    binary = need_binary("shellcheck", "Debian package shellcheck")
    return subprocess.run([binary, "--format=gcc", *map(str, paths)], capture_output=True, text=True, timeout=60,
                          check=False)


def test_the_scripts_are_found() -> None:
    assert PROJECT_ROOT / ".ci" / "run" in shell_scripts()


@pytest.mark.parametrize("script", [p.relative_to(PROJECT_ROOT).as_posix() for p in shell_scripts()])
def test_shellcheck_passes(script: str) -> None:
    result = shellcheck(PROJECT_ROOT / script)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_catches_a_broken_script_without_an_extension(tmp_path: Path) -> None:
    script = tmp_path / "tools" / "deploy"
    script.parent.mkdir()
    script.write_text('#!/usr/bin/env bash\nset -euo pipefail\nrm -rf $TARGET/build\n')
    assert shell_scripts(tmp_path) == [script]
    result = shellcheck(script)
    assert result.returncode == 1
    assert "SC2086" in result.stdout  # the unquoted $TARGET


def test_files_that_are_not_shell_scripts_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "tool.py").write_text("#!/usr/bin/env python3\nprint('hi')\n")
    (tmp_path / "notes.txt").write_text("#!not a script\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "activate.sh").write_text("echo $x\n")
    assert shell_scripts(tmp_path) == []

