"""Loading the stack's config: the program's only contact with pulumi.Config (infra/__main__.py calls load()).

The engine passes a stack's config as strings (objects JSON-encoded), in the environment (the language host)
or through the SDK's runtime config (its mocks, the Automation API); infra/config.py validates them. Secrets
set in plain text, and receivers' secrets that are not set, stop the program before anything is created.
"""

from __future__ import annotations

import pulumi

from infra.config import (
    ALERT_SECRET_PREFIX,
    PROJECT,
    SECRET_KEYS,
    AlertReceiver,
    ConfigError,
    StackConfig,
    StackSecrets,
    declared_keys,
    parse_stack_config,
    stack_file,
)


def _project_config() -> tuple[dict[str, str], set[str]]:
    """(every config value of this project, the keys set as secrets), through the SDK's public runtime API.

    The language host passes the stack's config in the environment (PULUMI_CONFIG), which lists every key,
    unknown ones included; keys the program declares are also asked for one by one, for the SDK's runtime
    config (as its mocks and the Automation API set it), which cannot be listed.
    """
    prefix = f"{PROJECT}:"
    keys = {key[len(prefix):] for key in pulumi.runtime.get_config_env() if key.startswith(prefix)}
    keys |= declared_keys()
    values = {key: pulumi.runtime.get_config(prefix + key) for key in keys}
    secret_env = set(pulumi.runtime.get_config_secret_keys_env())
    secret = {key for key in values
              if pulumi.runtime.is_config_secret(prefix + key) or prefix + key in secret_env}
    return {key: value for key, value in values.items() if value is not None}, secret


def plain_text_secrets(values: dict[str, str], secret: set[str], stack: str) -> None:
    """Stop when a key that holds a secret was set in plain text: it would be stored and shown unencrypted.

    (A receiver's secret key must start with alertSecret, so the prefix finds every one.)
    """
    exposed = sorted(key for key in values if key not in secret
                     and (key in SECRET_KEYS or key.startswith(ALERT_SECRET_PREFIX)))
    if exposed:
        fixes = "\n".join(_set_secret_command(stack, key) for key in exposed)
        raise ConfigError(f"{stack_file(stack)}: " + ", ".join(f"{PROJECT}:{key}" for key in exposed)
                          + " holds a secret but is set in plain text (no `secure:`); remove it from the file and "
                          f"set it encrypted:\n{fixes}")


def _set_secret_command(stack: str, key: str) -> str:
    return f"  pulumi config set --secret --stack {stack} {key}   (then paste the value)"


def _receiver_secrets(receivers: list[AlertReceiver], config: pulumi.Config, stack: str) -> dict[str, pulumi.Output[str]]:
    """Each receiver's secret by receiver name; a key a receiver names but the stack does not set stops the program."""
    found: dict[str, pulumi.Output[str]] = {}
    for index, receiver in enumerate(receivers):
        if receiver.secret is None:
            continue
        value = config.get_secret(receiver.secret)
        if value is None:
            raise ConfigError(f"{stack_file(stack)}: {PROJECT}:monitoring.alertReceivers[{index}].secret: "
                              f"{PROJECT}:{receiver.secret} is not set; set it encrypted:\n"
                              + _set_secret_command(stack, receiver.secret))
        found[receiver.name] = value
    return found


def load() -> tuple[StackConfig, StackSecrets]:
    """Read and validate this stack's config; the program's only contact with pulumi.Config."""
    stack = pulumi.get_stack()
    values, secret = _project_config()
    stack_config = parse_stack_config(values, stack)
    plain_text_secrets(values, secret, stack)
    config = pulumi.Config(PROJECT)
    receivers = _receiver_secrets(stack_config.monitoring.alert_receivers, config, stack)
    secrets = StackSecrets({key: config.get_secret(key) for key in SECRET_KEYS}, receivers)
    return stack_config, secrets
