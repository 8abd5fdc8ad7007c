"""The values of charts that publish a values schema, merged over the chart's defaults as Helm does, against it.

The harness's helm-values check asks whether each key exists; Helm also rejects values of the wrong type or
shape where a chart ships a schema (z2jh's is strict), which this checks.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml

from harness.paths import SHARED
from harness.query import release_values
from harness.run import Evaluation
from infra import catalog
from tests.program.conftest import STACKS

CHARTS = SHARED / "charts"
SCHEMA_FILES = {"jupyterhub": "values.schema.yaml", "mlflow": "values.schema.json",
                "cloudnative-pg": "values.schema.json"}


def merged(defaults: Any, values: Any) -> Any:
    """Helm's merge: maps merge key by key, anything else (lists included) is replaced."""
    if isinstance(defaults, dict) and isinstance(values, dict):
        return {**defaults, **{k: merged(defaults.get(k), v) if k in defaults else v for k, v in values.items()}}
    return values


def schema_errors(chart: str, values: dict[str, Any]) -> list[str]:
    folder = CHARTS / catalog.chart_data_name(chart) / catalog.chart(chart).version
    schema = yaml.safe_load((folder / SCHEMA_FILES[chart]).read_text())
    defaults = yaml.safe_load((folder / "values.yaml").read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = validator.iter_errors(merged(defaults, values))
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("chart", sorted(SCHEMA_FILES))
def test_values_satisfy_the_chart_schema(evaluations: dict[str, Evaluation], stack: str, chart: str) -> None:
    assert schema_errors(chart, release_values(evaluations[stack], chart)) == []


def test_the_schema_check_rejects_a_wrong_shape(evaluations: dict[str, Evaluation]) -> None:
    values = release_values(evaluations["dev"], "jupyterhub")
    broken = {**values, "singleuser": {**values["singleuser"], "cpu": {"guarantee": "half a core"}}}
    assert [error for error in schema_errors("jupyterhub", broken) if error.startswith("singleuser.cpu.guarantee")]
