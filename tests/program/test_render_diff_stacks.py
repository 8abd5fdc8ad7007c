"""The render diff on real renders: a stack change shows up in the cluster it touches, and only there."""

from __future__ import annotations

from pathlib import Path

from harness.render import write_tree
from harness.render_diff import diff_trees, read_tree
from harness.run import Evaluation, evaluate, stack_path


def test_a_gate_timeout_change_is_a_one_object_diff_on_the_core(evaluations: dict[str, Evaluation],
                                                                 tmp_path: Path) -> None:
    changed_file = tmp_path / "Pulumi.edge.yaml"
    changed_file.write_text(stack_path("edge").read_text().replace("timeoutSeconds: 900", "timeoutSeconds: 600"))
    changed = evaluate("edge", stack_file=changed_file)
    assert changed.error is None
    write_tree(evaluations["edge"], tmp_path / "base" / "edge")
    write_tree(changed, tmp_path / "head" / "edge")
    [diff] = diff_trees(read_tree(tmp_path / "base"), read_tree(tmp_path / "head"))
    assert (diff.stack, diff.cluster, diff.added, diff.removed) == ("edge", "core", [], [])
    [(name, text)] = diff.changed.items()
    assert name == "rollout/Job-wave-0-gate.yaml"
    assert "-  activeDeadlineSeconds: 1020" in text and "+  activeDeadlineSeconds: 720" in text
    # the wave deploys the same, so its fingerprint stays; the Job's new spec replaces it (and re-runs the check)
    assert "success6g.eu/rollout-fingerprint" not in text
