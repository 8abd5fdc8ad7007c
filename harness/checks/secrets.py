"""No secret in plain text: known secret values, secret-looking keys or env vars, a Secret's data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from harness.run import Evaluation, is_secret
from policy.rules import SECRET_LOOKING_ENV  # the policy pack owns the rule; the harness applies it too

SECRET_LOOKING_KEY = re.compile(
    r"(?i)(password|passwd|token|secretkey|secret_key|accesskey|access_key|apikey|api_key|privatekey|private_key)$"
)
# Keys that name where a secret is kept (an existing Secret's name or one of its keys), not a secret itself.
SECRET_REFERENCE_KEYS = ("existingSecret", "keyOf")


def _walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, value
    if is_secret(value):
        return
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, (*path, str(key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, (*path, str(index)))


def check_no_plaintext_secrets(evaluation: Evaluation) -> list[str]:
    """No secret in plain text: known secret values, secret-looking keys or env vars, Secret data."""
    known = [value for value in evaluation.secret_values.values() if value]
    problems = []
    for resource in evaluation.resources:
        if resource.type.startswith("random:"):
            continue
        for path, value in _walk(resource.inputs):
            where = f"{resource.type} {resource.name}: {'.'.join(path)}"
            if isinstance(value, str) and any(secret in value for secret in known):
                problems.append(f"{where}: a secret value in plain text")
            elif (path and SECRET_LOOKING_KEY.search(path[-1]) and not path[-1].startswith(SECRET_REFERENCE_KEYS)
                  and isinstance(value, str) and value):
                problems.append(f"{where}: a secret-looking key with a literal value (make it a Pulumi secret)")
            elif (isinstance(value, dict) and isinstance(value.get("name"), str) and "value" in value
                  and SECRET_LOOKING_ENV.search(value["name"]) and isinstance(value["value"], str)
                  and value["value"]):
                problems.append(f"{where}: env var {value['name']} has a literal value (use a secretKeyRef)")
        if resource.type == "kubernetes:core/v1:Secret":
            for field in ("data", "stringData"):
                content = resource.inputs.get(field) or {}
                if is_secret(content):
                    continue
                for key, value in content.items():
                    if not is_secret(value):
                        problems.append(f"{resource.type} {resource.name}: {field}.{key} is not a Pulumi secret")
    return problems
