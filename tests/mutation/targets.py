"""What `make mutation` mutates, and the tests that must kill each module's mutants (a module -> tests map).

Only tests that run the code in the pytest process count: mutmut runs, for each mutant, the tests that reached
the mutated function in its stats run, so a test that drives a subprocess (the worker CLI, `python -m ...`)
cannot kill a mutant and would only cost time. The program tests that evaluate every stack (tests/program/)
take minutes per mutant and are left out: the harness checks are mutated against purpose-built inputs. The
model's tests that fit a model (the tiny model, ~10 s; the alarm product test, minutes) are left out the same
way: the model-alarm tests build rows, drives and a two-sensor model with known outputs in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    modules: tuple[str, ...]  # files mutated
    tests: tuple[str, ...]  # pytest paths run against them


TARGETS: dict[str, Target] = {
    "worker": Target(
        ("apps/worker/stream.py", "apps/worker/writer.py", "apps/worker/delivery.py", "apps/worker/runner.py",
         "apps/worker/influx.py"),
        ("tests/unit/test_worker_states.py", "tests/unit/test_worker_predict.py", "tests/unit/test_worker_delivery.py",
         "tests/unit/test_worker_influx_answers.py", "tests/integration/test_worker_stream.py",
         "tests/integration/test_worker_influx_sink.py", "tests/integration/test_worker_loop.py")),
    "secrets-check": Target(
        ("harness/checks/secrets.py",),
        ("tests/unit/test_secrets_check_behaviour.py",)),
    "ordering-check": Target(
        ("harness/checks/ordering.py",),
        ("tests/unit/test_crd_ordering.py",)),
    "profiles": Target(
        ("infra/profiles.py",),
        ("tests/unit/test_profiles.py", "tests/unit/test_serving_capacity.py")),
    "rancher": Target(
        ("infra/rancher.py",),
        ("tests/integration/test_rancher_api.py", "tests/integration/test_rancher_lookup_behaviour.py")),
    "rollout": Target(
        ("apps/rollout/gate_check.py", "infra/rollout/plan.py"),
        ("tests/unit/test_gate_check.py", "tests/unit/test_gate_check_behaviour.py", "tests/unit/test_rollout_plan.py",
         "tests/unit/test_rollout_model_uri_behaviour.py")),
    "model-alarm": Target(
        ("apps/model/condition.py", "apps/model/detectors.py"),
        ("tests/unit/model/test_model_detectors.py", "tests/unit/model/test_model_calibration.py",
         "tests/unit/model/test_model_condition_small.py")),
    "injector": Target(
        ("apps/idneo.py", "injector/replay.py", "injector/sender.py"),
        ("tests/unit/test_idneo_rows.py", "tests/unit/test_injector_replay.py", "tests/unit/test_injector_sinks.py",
         "tests/unit/test_idneo_reader.py", "tests/integration/test_injector_sender.py",
         "tests/integration/test_injector_cli.py")),
    "config": Target(
        ("infra/config.py", "infra/config_loader.py"),
        ("tests/unit/test_config.py", "tests/unit/test_rollout_config.py", "tests/unit/test_serving_config.py",
         "tests/unit/test_data_services_config.py", "tests/unit/test_project_file.py",
         "tests/unit/test_config_load.py")),
}
