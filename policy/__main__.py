"""Entry point of the policy pack: `pulumi preview --policy-pack policy` (from the repository root)."""

import sys
from pathlib import Path

# The rules import the project's harness (its secret-looking-name pattern): run from the repository's venv.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_policy import PolicyPack

from policy.pack import PACK_NAME, policies

PolicyPack(name=PACK_NAME, policies=policies())
