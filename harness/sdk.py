"""Every use of the Pulumi Python SDK's internals by the harness, in one place.

Written for and tested against pulumi >=3.272,<4 (`SDK_RANGE`; pyproject.toml pins the same range and
tests/unit/test_sdk_adapter.py fails when the installed SDK is outside it). The SDK has no public API for
what the harness needs, so this module reaches into it:

- `pulumi.runtime.rpc`: the signature a secret value is wrapped under in the inputs a mock monitor sees,
  and the deserializer of a resource's registered properties;
- `pulumi.runtime.mocks.MockMonitor`: the monitor `set_mocks` installs, subclassed to record registrations;
- `pulumi.runtime.sync_await`: the SDK's own way to await the program (or one Output) synchronously (as
  `pulumi.runtime.test` does; `run_in_stack` waits forever under mocks) and its event loop;
- `pulumi.runtime.settings`: the root resource, the RPC manager and the finished outputs a failed run leaves;
- `pulumi.runtime.stack`: running the program as the root stack's function, and registering its exports.

When a new SDK release breaks the harness, this module and its test are the only places to look.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.metadata
import re
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import mocks as _mocks
from pulumi.runtime import rpc as _rpc
from pulumi.runtime import settings as _settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import Stack, massage, run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

SDK_RANGE = ((3, 272), (4,))  # >= 3.272, < 4: the versions this module was written and tested for
SECRET_KEY: str = _rpc._special_sig_key  # the key a secret value is wrapped under in the inputs a mock sees
SECRET_SIG: str = _rpc._special_secret_sig
MockMonitor = _mocks.MockMonitor  # the monitor set_mocks installs; subclass it to record registrations


def installed_version() -> tuple[int, ...]:
    """The installed SDK's release as numbers ("3.272.0" -> (3, 272, 0); a pre-release suffix is dropped)."""
    match = re.match(r"\d+(\.\d+)*", importlib.metadata.version("pulumi"))
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def version_supported(version: tuple[int, ...]) -> bool:
    low, high = SDK_RANGE
    return low <= version < high


def deserialize(struct: Any) -> Any:
    """A registration's properties (a protobuf Struct) as Python values, unknowns kept, secrets still wrapped."""
    return _rpc.deserialize_properties(struct, keep_unknowns=True)


def install_mocks(mocks: pulumi.runtime.Mocks, monitor: Any, project: str, stack: str,
                  config: dict[str, str], secret_keys: list[str]) -> None:
    """A fresh root stack under mocks, with the stack's config as the engine would pass it (all strings)."""
    _settings.ROOT.set(None)  # set_mocks creates the root stack only when none is set
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    set_all_config(config, secret_keys)


def run_program(program: Callable[[], None]) -> None:
    """Run the program as the root stack's function and wait for every registration it started."""
    _sync_await(run_pulumi_func(program))


def output_value(output: pulumi.Output[Any]) -> Any:
    """An Output's value, awaited on the SDK's event loop without running a program (nor its RPC threads).

    For values a test gets outside a program, e.g. the secrets infra/config_loader.py reads: running a program
    for them would wait on the runtime's thread pool, which a process forked after a run (mutmut) cannot use.
    """
    return _sync_await(output.future())


def output_is_secret(output: pulumi.Output[Any]) -> bool:
    """Whether the SDK keeps an Output's value secret (encrypted in the state, masked in the CLI)."""
    return _sync_await(output.is_secret())


def register_stack_exports() -> None:
    """Register the root stack's exports, as the language host does after the program runs.

    (set_mocks' stack already registered empty outputs, so they are registered again, as run_in_stack would.)
    """
    root = _settings.get_root_resource()
    if isinstance(root, Stack):
        root.register_outputs(massage(root.outputs, []))


def drain_failed_run() -> None:
    """Stop what a failed run left behind. The runtime stops at the first failed RPC; the program's other
    tasks (resources waiting on the failed one) stay in the event loop, where the next evaluation would
    await them and report this run's errors as its own."""
    loop = _ensure_event_loop()
    loop.set_exception_handler(_quiet_abandoned_failures)
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    _settings._get_rpc_manager().clear()
    with _settings.SETTINGS.lock:  # finished outputs that failed: the next run would await them again
        _settings.SETTINGS.outputs.clear()
    gc.collect()  # report (and drop) the abandoned futures now, not at some later run or at exit


def _quiet_abandoned_failures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The program's own error (a RunError) repeated by every future that waited on it is already reported."""
    if "never retrieved" in str(context.get("message")) and isinstance(context.get("exception"), pulumi.RunError):
        return
    loop.default_exception_handler(context)
