#!/usr/bin/env bash
# The main job on this machine: installs what it needs, then brings the `lab` stack's rendered
# data plane up in network namespaces (gateway with TAYGA + Unbound, master, two minions, pods
# made by the real CNI plugins), runs every check and tears it down. STACK=lab-bind for BIND9.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec .venv/bin/python -m lab check --stack "${STACK:-lab}"
