#!/usr/bin/env bash
# The VM lab: the `vmlab` stack as real virtual machines on this machine's libvirt (software
# emulation, 1 vCPU each: a gateway, a master, two minions), configured by `pulumi up`.
#   bash scripts/vm-lab.sh up      install what is needed, build the base image (cached), start
#                                  libvirtd if none answers, pulumi up, then every check (a minion and
#                                  the gateway rebooted, a second up that changes nothing); leaves it up
#   bash scripts/vm-lab.sh check   the checks again against the running lab
#   bash scripts/vm-lab.sh down    pulumi destroy, prove libvirt holds nothing of the stack, stop what
#                                  `up` started (libvirtd, the test server), restore /dev/kvm
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  up)
    bash scripts/install-deps.sh
    exec .venv/bin/python -m harness.vmlab up --check
    ;;
  check) exec .venv/bin/python -m harness.vmlab check ;;
  down) exec .venv/bin/python -m harness.vmlab down ;;
  *) echo "usage: $0 up|check|down" >&2; exit 2 ;;
esac
