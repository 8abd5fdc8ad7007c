"""The render writes what the program sends: integers as integers (the mocks get every number as a double)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from harness.render import write_tree
from harness.run import Evaluation, integral_floats_as_ints
from tests.program.conftest import STACKS

INTEGRAL_FLOAT_LINE = re.compile(r"(?m)^\s*(- )?[\w.-]*:? ?-?\d+\.0$")


@pytest.mark.parametrize("stack", STACKS)
def test_no_rendered_number_is_an_integral_float(evaluations: dict[str, Evaluation], stack: str,
                                                 tmp_path: Path) -> None:
    write_tree(evaluations[stack], tmp_path)
    texts = {path: path.read_text() for path in tmp_path.rglob("*.yaml")}
    assert texts
    assert {path.name: INTEGRAL_FLOAT_LINE.findall(text) for path, text in texts.items()
            if INTEGRAL_FLOAT_LINE.search(text)} == {}


def test_ports_and_counts_render_as_the_program_wrote_them(evaluations: dict[str, Evaluation], tmp_path: Path) -> None:
    write_tree(evaluations["dev"], tmp_path)
    service_text = (tmp_path / "testbed" / "edge-apps" / "Service-vehicle-api.yaml").read_text()
    assert "nodePort: 30379\n" in service_text and "port: 6379\n" in service_text
    [port] = yaml.safe_load(service_text)["spec"]["ports"]
    assert type(port["nodePort"]) is int
    jupyterhub = yaml.safe_load((tmp_path / "testbed" / "jupyterhub" / "HelmRelease-jupyterhub.yaml").read_text())
    assert jupyterhub["values"]["singleuser"]["cpu"]["guarantee"] == 0.5  # a fraction stays a fraction


def test_integral_floats_become_ints_everywhere_else_untouched() -> None:
    sent = {"port": 80.0, "ratio": 0.5, "flags": [True, 1.0, -3.0, "80.0"], "nested": {"big": 1e20, "none": None}}
    assert integral_floats_as_ints(sent) == {"port": 80, "ratio": 0.5, "flags": [True, 1, -3, "80.0"],
                                             "nested": {"big": 10**20, "none": None}}
    converted = integral_floats_as_ints(sent)
    assert [type(v) for v in converted["flags"]] == [bool, int, int, str]
    assert type(converted["port"]) is int and type(converted["ratio"]) is float
