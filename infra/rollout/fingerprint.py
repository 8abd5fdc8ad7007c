"""A wave's fingerprint: a digest of the inputs of every resource the wave's sites register.

Whatever changes what a site deploys (a DaemonSet's env, an alert rule, a chart value, the stack config that
feeds them) changes the digest, so the gate Job after the wave is replaced and runs again; a wave whose
resources are unchanged keeps the Job that already passed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pulumi


def plain(value: Any) -> Any:
    """Input-type objects (k8s.*Args) as dicts, tuples as lists; Outputs are left for Output.from_input."""
    if isinstance(value, pulumi.Output):
        return value
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, pulumi.Resource):
        return f"resource:{type(value).__name__}"  # its own inputs are recorded where it is registered
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return {key: plain(item) for key, item in vars(value).items() if not key.startswith("_")}
    return value


def digest_of(records: list[Any]) -> str:
    text = json.dumps(records, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class InputsRecorder:
    """A resource transformation that records (type, name, inputs) of every resource registered beneath it."""

    def __init__(self) -> None:
        self._records: list[list[Any]] = []

    def __call__(self, args: pulumi.ResourceTransformationArgs) -> None:
        self._records.append([args.type_, args.name, plain(args.props)])
        # records only: the resource is registered unchanged

    def options(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(transformations=[self])

    def fingerprint(self) -> pulumi.Output[str]:
        """The digest, once every recorded input is known; not secret (a digest reveals no input)."""
        records = sorted(self._records, key=lambda record: (record[0], record[1]))
        return pulumi.Output.unsecret(pulumi.Output.from_input(records).apply(digest_of))
