"""Where the project and its shared data are: the one definition every harness module, test and benchmark uses."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Chart defaults, CRD schemas and recorded drives (data for the checks and tests, kept outside the project).
SHARED = Path(os.environ.get("SUCCESS6G_SHARED", PROJECT_ROOT / ".." / "shared")).resolve()
IDNEO_DRIVES = SHARED / "data" / "idneo"  # the recorded drives the tests, notebooks and benchmarks replay
