"""Shared test settings."""

from __future__ import annotations

import pytest

from harness.paths import SHARED

# Chart defaults, CRD schemas and the vehicle logs live in ../shared (or $SUCCESS6G_SHARED); CI always has them.
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no shared data folder at {SHARED}")
