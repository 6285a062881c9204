#!/usr/bin/env bash
# The project's test command (README, CI): installs what it needs (and builds the Kubernetes
# artifacts from source if they are not cached), then lint, unit tests (mocks, hypothesis), the network lab, the real Pulumi engine
# (previews of every stack; the lab stacks up / up again / destroy over SSH) and the Kubernetes
# lab (`k8s`: the cluster, day 2, HA, the routed variant). `vm` and `upgrade` are labs run by hand: see README.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build-artifacts.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -m "not vm and not upgrade" "$@"
