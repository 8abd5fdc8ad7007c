"""The registry: one ordered list of components, whose needs are provided earlier and whose builds keep to
what they declare."""

from __future__ import annotations

import pytest

from infra.components.registration import Provided, Registration
from infra.config import parse_stack_config
from infra.registry import COMPONENTS, deployments, order_problems
from tests.unit.test_config import raw


def registration(name: str, needs: frozenset[str] = frozenset(), provides: frozenset[str] = frozenset(),
                 build=None) -> Registration:
    return Registration(name=name, roles=lambda cluster, config: ("core",), workloads=lambda config: (),
                        build=build or (lambda site, role, provided: provided),
                        needs=needs, provides=provides)


def test_the_platform_registry_is_in_a_buildable_order() -> None:
    assert order_problems(COMPONENTS) == []
    assert len({component.name for component in COMPONENTS}) == len(COMPONENTS)


def test_a_need_before_its_provider_is_reported() -> None:
    components = [registration("mlflow", needs=frozenset({"object_store"})), registration("store", provides=frozenset({"object_store"}))]
    assert order_problems(components) == [(
        "component 'mlflow' needs ['object_store'], which no component before it provides: move it after the one "
        "that does")]
    assert order_problems(list(reversed(components))) == []


def test_a_name_registered_twice_is_reported() -> None:
    assert order_problems([registration("a"), registration("a")]) == ["component 'a' is registered twice"]


def test_an_unknown_provided_field_is_refused_when_declared() -> None:
    with pytest.raises(ValueError, match=r"unknown Provided fields \['gatewya'\]"):
        registration("typo", provides=frozenset({"gatewya"}))


def test_a_build_that_sets_what_it_did_not_declare_fails() -> None:
    sneaky = registration("sneaky", build=lambda site, role, provided: provided.update(gateway="g"))
    with pytest.raises(TypeError, match=r"'sneaky' set \['gateway'\] without declaring"):
        sneaky.built(None, "core", Provided())  # type: ignore[arg-type]
    honest = registration("honest", provides=frozenset({"gateway"}), build=sneaky.build)
    assert honest.built(None, "core", Provided()).gateway == "g"  # type: ignore[arg-type]


def test_deployments_follow_each_components_roles() -> None:
    config = parse_stack_config(raw(), "lab")  # one cluster with both roles
    placed = [(component.name, role) for component, role in deployments(config.clusters[0], config)]
    assert placed[0] == ("cert-manager", "core")
    assert ("data-path", "edge") in placed and ("influxdb", "core") in placed
    assert placed.index(("edge-apps-namespace", "edge")) < placed.index(("data-path", "edge"))
    assert ("monitoring-agent", "edge") not in placed  # a cluster with the core role has the full Prometheus
