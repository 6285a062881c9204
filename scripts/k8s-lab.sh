#!/usr/bin/env bash
# The main job: an IPv6-only kubeadm cluster (1 master, 2 minions) on namespace machines of
# this machine, brought up by `pulumi up --stack lab-k8s` from artifacts built from source.
#   bash scripts/k8s-lab.sh [check]   build the artifacts if needed, up, check, up again, destroy
#   bash scripts/k8s-lab.sh up        build if needed, up and check; leave the cluster running
#   bash scripts/k8s-lab.sh down      pulumi destroy (kubeadm reset on every node), then the hosts
set -euo pipefail
cd "$(dirname "$0")/.."
action="${1:-check}"
case "$action" in
  check|up)
    bash scripts/install-deps.sh
    bash scripts/build-artifacts.sh
    exec .venv/bin/python -m harness.k8slab "$action" --stack "${STACK:-lab-k8s}"
    ;;
  down) exec .venv/bin/python -m harness.k8slab down --stack "${STACK:-lab-k8s}" ;;
  *) echo "usage: $0 [check|up|down]" >&2; exit 2 ;;
esac
