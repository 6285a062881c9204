"""The policy pack's entry point: the Pulumi policy analyzer runs this file in the pack's folder."""

import sys
from pathlib import Path

# The rules live in the repository's `policy` package and read artifacts/versions.env through
# config_schemas: the repository root must be importable from the analyzer's process.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.rules import POLICIES
from policy.values import keep_secret_marks

keep_secret_marks()
PolicyPack(name="kube-v6", enforcement_level=EnforcementLevel.MANDATORY, policies=list(POLICIES))
