"""CI never skips silently: a missing binary, Python module or shared data skips locally and fails under
CI=true, and no test skips any other way (every skip goes through tests/conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import missing, need_binary, need_module, need_shared, under_ci

TESTS = Path(__file__).resolve().parents[1]
EXEMPT = {TESTS / "conftest.py", Path(__file__).resolve()}  # the helper, and this file's purpose-built bad input
OTHER_SKIP = re.compile(r"\bpytest\.(skip|importorskip)\s*\(|\bmark\.skip(if)?\b|\bunittest\.skip")


def skips_outside_the_helper(root: Path = TESTS) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if path in EXEMPT:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if OTHER_SKIP.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_no_test_skips_except_through_the_helper() -> None:
    assert skips_outside_the_helper() == []


def test_a_skip_written_another_way_is_found(tmp_path: Path) -> None:
    (tmp_path / "test_sneaky.py").write_text('import pytest\nredis = pytest.importorskip("redis")\n\n'
                                             '@pytest.mark.skipif(True, reason="x")\ndef test_a():\n'
                                             '    pytest.skip("no")\n')
    assert skips_outside_the_helper(tmp_path) == [
        'test_sneaky.py:2: redis = pytest.importorskip("redis")',
        'test_sneaky.py:4: @pytest.mark.skipif(True, reason="x")',
        'test_sneaky.py:6: pytest.skip("no")',
    ]


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("TRUE", True), ("1", True), ("", False),
                                                 ("false", False), ("0", False)])
def test_what_counts_as_ci(value: str, expected: bool) -> None:
    assert under_ci({"CI": value}) is expected
    assert under_ci({}) is False


def test_missing_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"^frobnicator is not installed \(Debian package frob\)$"):
        missing("frobnicator is not installed", "Debian package frob")


def test_missing_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"^frobnicator is not installed \(Debian package frob\); "
                                                    r"under CI=true a test may not skip$"):
        missing("frobnicator is not installed", "Debian package frob")


def test_each_need_fails_under_ci_naming_what_to_provide(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"^s6g-no-such-binary is not installed \(Debian package x\)"):
        need_binary("s6g-no-such-binary", "Debian package x")
    with pytest.raises(pytest.fail.Exception, match=r"^the Python module s6g_no_such_module is not installed \(extra "
                                                    r"apps; `make install` installs every extra\)"):
        need_module("s6g_no_such_module", "extra apps")
    with pytest.raises(pytest.fail.Exception, match=rf"^no shared data at {tmp_path / 'absent'} \(check out the shared "
                                                    r"data folder beside the project, or set SUCCESS6G_SHARED\)"):
        need_shared(tmp_path / "absent")


def test_what_is_there_is_returned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    assert need_binary("python3", "Debian package python3").endswith("python3")
    assert need_module("json", "the standard library").dumps([1]) == "[1]"
    assert need_shared(tmp_path) == tmp_path
