#!/usr/bin/env bash
# The Kubernetes conformance suite (e2e.test and ginkgo built from the cluster's own
# k8s.io/kubernetes) on the project's IPv6-only cluster:
#   bash scripts/conformance.sh                  every [Conformance] test on a fresh lab-k8s, then destroy
#   bash scripts/conformance.sh --sig-network    only the [sig-network] ones (what CI runs)
#   bash scripts/conformance.sh --running        against the cluster `scripts/k8s-lab.sh up` left
# More: --focus RE, --skip RE (repeatable), --procs N, --keep, --stack S (python -m harness.k8slab.conformance -h).
# Reports (JUnit per part, logs, summary.txt) go to .state/conformance/<stack>-<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build-artifacts.sh 2> >(grep -v "^  " >&2) >/dev/null  # its phases, not its VERSIONS record
exec .venv/bin/python -m harness.k8slab.conformance "$@"
