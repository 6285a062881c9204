#!/usr/bin/env bash
# The main job on this machine: installs what it needs, then brings the `lab` stack up for real:
# network namespaces as hosts (each with its own sshd), `pulumi up` configures them over SSH
# (routes, sysctls, TAYGA + Unbound, CNI conflists), pods made by the real CNI plugins, every
# check, then `pulumi destroy` and teardown. STACK=lab-bind for BIND9.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec .venv/bin/python -m harness.enginelab check --stack "${STACK:-lab}"
