"""Shared fixtures. Tests run from the project root; make its packages importable.

The tests' labs run under names of their own (lab.instance): the suite may run while the
operator keeps a lab of the same stack up (`scripts/k8s-lab.sh up`), and must not touch it.
`KUBEV6_LAB_INSTANCE` chooses another instance (two test runs side by side); it is set here, at
import, so that the labs the tests start in child processes (`python -m harness.netlab up`) have it too.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("KUBEV6_LAB_INSTANCE", "t")
