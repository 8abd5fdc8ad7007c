"""Evaluate the Pulumi program the way the Python language host runs it, under the SDK's mocks.

`runpy.run_path("infra", run_name="__main__")` inside the runtime's stack,
config set through the runtime's config API from the stack file (secure values
replaced by test secrets), every registered resource recorded: type, name,
inputs as the engine would receive them, provider, parent and dependencies.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from harness import sdk
from harness.paths import PROJECT_ROOT

TEST_SECRET_PREFIX = "harness-test-secret"
GENERATED_SECRET_PREFIX = "harness-generated"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


def wrap_secret(value: Any) -> dict[str, Any]:
    return {sdk.SECRET_KEY: sdk.SECRET_SIG, "value": value}


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(sdk.SECRET_KEY) == sdk.SECRET_SIG


@dataclass(frozen=True)
class Recorded:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    provider: str  # "urn::id" of the provider a custom resource uses ("" = the default provider)
    providers: dict[str, str]  # a component's provider map
    parent: str
    dependencies: tuple[str, ...]
    ignore_changes: tuple[str, ...] = ()
    retain_on_delete: bool = False
    delete_before_replace: bool = False

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


@dataclass
class Evaluation:
    stack: str
    config: dict[str, str]
    secret_values: dict[str, str]  # every test or generated secret value, by where it came from
    resources: list[Recorded] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # registered outputs of components, by URN
    error: BaseException | None = None

    def by_urn(self) -> dict[str, Recorded]:
        return {resource.urn: resource for resource in self.resources}

    def of_type(self, type_token: str) -> list[Recorded]:
        return [resource for resource in self.resources if resource.type == type_token]


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == RANDOM_PASSWORD:
            value = f"{GENERATED_SECRET_PREFIX}-{hashlib.sha256(args.name.encode()).hexdigest()[:16]}"
            self.evaluation.secret_values[f"generated:{args.name}"] = value
            # The engine marks `result` secret (additionalSecretOutputs); the mock monitor does not.
            state["result"] = wrap_secret(value)
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


class _RecordingMonitor(sdk.MockMonitor):
    def __init__(self, mocks: _Mocks, evaluation: Evaluation) -> None:
        super().__init__(mocks)
        self.evaluation = evaluation

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = sdk.deserialize(request.object)
            self.evaluation.resources.append(
                Recorded(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    inputs=_plain(inputs),
                    custom=bool(request.custom),
                    provider=request.provider,
                    providers=dict(request.providers),
                    parent=request.parent,
                    dependencies=tuple(request.dependencies),
                    ignore_changes=tuple(request.ignoreChanges),
                    retain_on_delete=bool(request.retainOnDelete),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs = sdk.deserialize(request.outputs)
        self.evaluation.outputs[request.urn] = _plain(outputs)
        return super().RegisterResourceOutputs(request)


def _plain(value: Any) -> Any:
    """Inputs as JSON-like data (the deserializer may hand back protobuf-ish containers), numbers as sent."""
    return integral_floats_as_ints(json.loads(json.dumps(value, default=str)))


def integral_floats_as_ints(value: Any) -> Any:
    """Every integral float as an int: the RPC carries every number as a protobuf double (the program's
    `port=80` arrives as 80.0), and what reaches the cluster is JSON, where Go writes float64(80) as 80. So
    `port: 80`, `replicas: 1` are what the program sent and what Kubernetes and Helm get; 0.5 stays 0.5."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: integral_floats_as_ints(child) for key, child in value.items()}
    if isinstance(value, list):
        return [integral_floats_as_ints(child) for child in value]
    return value


def stack_path(stack: str, root: Path = PROJECT_ROOT) -> Path:
    return root / "stacks" / f"Pulumi.{stack}.yaml"


def stack_names(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (root / "stacks").glob("Pulumi.*.yaml"))


def config_from_stack_file(path: Path) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """(config as the engine passes it, secret keys, test secret values) from a stack settings file."""
    document = yaml.safe_load(path.read_text()) or {}
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    secret_values: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            test_value = f"{TEST_SECRET_PREFIX}-{key.split(':')[-1]}"
            config[key] = test_value
            secret_keys.append(key)
            secret_values[f"config:{key}"] = test_value
        elif isinstance(value, str):
            config[key] = value
        else:
            config[key] = json.dumps(value)
    return config, secret_keys, secret_values


def project_config_defaults(root: Path = PROJECT_ROOT) -> dict[str, str]:
    """Values Pulumi.yaml sets for every stack (e.g. the disabled default providers)."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    defaults: dict[str, str] = {}
    for key, spec in (project.get("config") or {}).items():
        if isinstance(spec, dict) and "value" in spec:
            value = spec["value"]
            defaults[key] = value if isinstance(value, str) else json.dumps(value)
    return defaults


def _run_program(program: Path) -> None:
    runpy.run_path(str(program), run_name="__main__")
    sdk.register_stack_exports()  # as the language host does after the program (they land in .outputs)


def evaluate(
    stack: str,
    root: Path = PROJECT_ROOT,
    stack_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    project: str = "success6g-edge",
) -> Evaluation:
    """Run the program for one stack under mocks; never raises for the program's own errors (see .error)."""
    config, secret_keys, secret_values = config_from_stack_file(stack_file or stack_path(stack, root))
    config = {**project_config_defaults(root), **config}
    for key, value in (overrides or {}).items():
        config[key] = value if isinstance(value, str) else json.dumps(value)
    evaluation = Evaluation(stack=stack, config=copy.deepcopy(config), secret_values=secret_values)
    mocks = _Mocks(evaluation)
    sdk.install_mocks(mocks, _RecordingMonitor(mocks, evaluation), project, stack, config, secret_keys)
    program = root / "infra"
    # The language host passes the config in the environment too (PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS):
    # the program lists the stack's keys from there.
    saved = {name: os.environ.get(name) for name in ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS")}
    os.environ["PULUMI_CONFIG"] = json.dumps(config)
    os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(secret_keys)
    try:
        sdk.run_program(lambda: _run_program(program))
    except Exception as error:  # noqa: BLE001 (the caller inspects the program's failure)
        evaluation.error = error
        sdk.drain_failed_run()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return evaluation

