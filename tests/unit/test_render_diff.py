"""The render diff: per stack and cluster, added/removed/changed objects, Markdown that fits a PR comment."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.render_diff import MARKER, diff_trees, main, read_tree, to_markdown


def tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


BASE = {"edge/core/rollout/Job-wave-0-gate.yaml": "spec:\n  backoffLimit: 0\n  activeDeadlineSeconds: 1020\n",
        "edge/core/rollout/ConfigMap-gate-check-1.yaml": "data: {}\n",
        "edge/edge-a/monitoring/Namespace-monitoring.yaml": "kind: Namespace\n",
        "dev/testbed/monitoring/Namespace-monitoring.yaml": "kind: Namespace\n"}
HEAD = {"edge/core/rollout/Job-wave-0-gate.yaml": "spec:\n  backoffLimit: 0\n  activeDeadlineSeconds: 720\n",
        "edge/core/rollout/ConfigMap-gate-check-2.yaml": "data: {}\n",
        "edge/edge-a/monitoring/Namespace-monitoring.yaml": "kind: Namespace\n",
        "dev/testbed/monitoring/Namespace-monitoring.yaml": "kind: Namespace\n",
        "edge/edge-c/_cluster/Namespace-rollout.yaml": "kind: Namespace\n"}


def test_changes_are_found_per_cluster(tmp_path: Path) -> None:
    diffs = diff_trees(read_tree(tree(tmp_path / "b", BASE)), read_tree(tree(tmp_path / "h", HEAD)))
    assert [(d.stack, d.cluster, d.summary) for d in diffs] == [
        ("edge", "core", "1 added, 1 changed, 1 removed"), ("edge", "edge-c", "1 added, 0 changed, 0 removed")]
    core = diffs[0]
    assert core.added == ["rollout/ConfigMap-gate-check-2.yaml"]
    assert core.removed == ["rollout/ConfigMap-gate-check-1.yaml"]
    assert "-  activeDeadlineSeconds: 1020\n+  activeDeadlineSeconds: 720" in core.changed[
        "rollout/Job-wave-0-gate.yaml"]


def test_markdown_has_a_table_the_diffs_and_its_marker(tmp_path: Path) -> None:
    base, head = read_tree(tree(tmp_path / "b", BASE)), read_tree(tree(tmp_path / "h", HEAD))
    text = to_markdown(diff_trees(base, head), head, ["dev", "edge"])
    assert text.startswith(MARKER)
    assert "| edge | core | 1 | 1 | 1 |" in text and "| dev |" not in text
    assert "- removed `rollout/ConfigMap-gate-check-1.yaml`" in text
    assert "```diff\n--- base/rollout/Job-wave-0-gate.yaml" in text
    assert "<summary>added <code>_cluster/Namespace-rollout.yaml</code></summary>" in text


def test_no_change_says_so(tmp_path: Path) -> None:
    same = read_tree(tree(tmp_path / "b", BASE))
    assert to_markdown(diff_trees(same, same), same, ["edge", "dev"]).endswith(
        "No change in the rendered manifests of dev, edge.\n")


def test_a_long_diff_is_cut_to_fit_a_comment(tmp_path: Path) -> None:
    many = {f"edge/site-{i:02d}/x/ConfigMap-c.yaml": f"data: {'v' * 500}{i}\n" for i in range(40)}
    head = read_tree(tree(tmp_path / "h", many))
    text = to_markdown(diff_trees({}, head), head, ["edge"], max_chars=5_000)
    assert len(text) <= 5_000 + 300
    assert text.rstrip().endswith("the full diff is in the workflow's artifact._")
    assert "edge/site-39" in text.splitlines()[-1]


def test_cli_writes_the_file_and_takes_a_missing_base_as_empty(tmp_path: Path) -> None:
    head = tree(tmp_path / "h", HEAD)
    assert main([str(tmp_path / "absent"), str(head), "--out", str(tmp_path / "d.md")]) == 0
    assert "| dev | testbed | 1 | 0 | 0 |" in (tmp_path / "d.md").read_text()


def test_cli_names_a_missing_head(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([str(tmp_path), str(tmp_path / "nothing")])
    assert exited.value.code == 2
    assert f"no render tree at {tmp_path / 'nothing'}" in capsys.readouterr().err
