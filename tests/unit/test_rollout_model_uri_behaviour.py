"""A site's model version turns the stack's registered model URI into the one its workers load."""

from __future__ import annotations

import pytest

from infra.rollout.plan import versioned_model_uri


@pytest.mark.parametrize(("stack_uri", "version", "site_uri"), [
    ("models:/vehicle-condition/3", "5", "models:/vehicle-condition/5"),
    ("models:/vehicle-condition/3", "@canary", "models:/vehicle-condition@canary"),
    ("models:/vehicle-condition@champion", "7", "models:/vehicle-condition/7"),
    ("models:/vehicle-condition@champion", "@canary", "models:/vehicle-condition@canary"),
    ("models:/vehicle-condition", "2", "models:/vehicle-condition/2"),
])
def test_the_site_version_replaces_the_stacks_version_or_alias(stack_uri: str, version: str, site_uri: str) -> None:
    assert versioned_model_uri(stack_uri, version) == site_uri
