"""The model's drives and tiny model (tests/model_fixtures.py), for these tests."""

from tests.model_fixtures import drives, tiny_model  # noqa: F401 (pytest finds fixtures by name)
