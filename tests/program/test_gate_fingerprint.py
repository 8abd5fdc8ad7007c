"""The gate after a wave re-runs exactly when what the wave deploys changes (its resources' inputs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.query import named
from harness.run import Evaluation, evaluate
from infra.components import inference_worker
from infra.rollout.gate import FINGERPRINT_ANNOTATION
from tests.support.stacks import core_cluster, edge_site, write_stack


def fingerprint(evaluation: Evaluation) -> str:
    assert evaluation.error is None, evaluation.error
    job = named(evaluation, "rollout-wave-0-gate-job")
    return job.inputs["spec"]["template"]["metadata"]["annotations"][FINGERPRINT_ANNOTATION]


def test_an_unchanged_wave_keeps_its_fingerprint(evaluations: dict[str, Evaluation]) -> None:
    again = fingerprint(evaluate("edge"))
    assert again == fingerprint(evaluations["edge"])
    assert len(again) == 16 and int(again, 16) >= 0


def test_a_change_to_the_worker_daemonset_re_runs_the_gate(evaluations: dict[str, Evaluation],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    original = inference_worker.worker_env
    monkeypatch.setattr(inference_worker, "worker_env",
                        lambda args: [*original(args), inference_worker.k8s.core.v1.EnvVarArgs(name="X", value="1")])
    assert fingerprint(evaluate("edge")) != fingerprint(evaluations["edge"])


def test_a_change_to_the_worker_alerts_re_runs_the_gate(evaluations: dict[str, Evaluation],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    groups = inference_worker.alert_groups()
    groups[0]["rules"][0]["for"] = "59m"
    monkeypatch.setattr(inference_worker, "alert_groups", lambda: groups)
    assert fingerprint(evaluate("edge")) != fingerprint(evaluations["edge"])


def test_the_gate_follows_its_own_wave_not_the_next(tmp_path: Path) -> None:
    def gate_after_wave_0(edge_b_profile: str, edge_a_profile: str = "full") -> str:
        clusters = [core_cluster(), edge_site("edge-a", 0, profile=edge_a_profile),
                    edge_site("edge-b", 1, profile=edge_b_profile), edge_site("edge-c", 2)]
        return fingerprint(evaluate("waves", stack_file=write_stack(tmp_path, "waves", clusters)))

    first = gate_after_wave_0("full")
    assert gate_after_wave_0("minimal") == first  # wave 1 changed: wave 0's gate has nothing new to check
    assert gate_after_wave_0("full", edge_a_profile="minimal") != first  # wave 0's own site changed
