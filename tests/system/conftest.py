"""Fixtures of the system test: the small real model it publishes."""

from tests.model_fixtures import trained_model  # noqa: F401 (pytest finds fixtures by name)
