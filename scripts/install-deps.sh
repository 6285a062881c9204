#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine (run as root):
# the Debian packages of the network lab and of libvirt, the Python virtualenv in .venv, and
# the Pulumi toolchain at the pinned versions (scripts/toolchain.sh; offline from the bundle
# folder KUBEV6_PULUMI_BUNDLE names).
# Idempotent: a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(
  python3-venv iproute2 procps psmisc nftables iptables kmod
  containernetworking-plugins tayga unbound bind9 bind9-dnsutils dnsmasq-base
  iperf3 curl openssh-server openssh-client debootstrap
  libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils genisoimage xsltproc
)
missing=()
for pkg in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts these daemons when installed; the project runs its own instances.
for svc in unbound named; do pkill -x "$svc" 2>/dev/null || true; done

PY="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha
want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
bash scripts/toolchain.sh >/dev/null
echo "install-deps: ok" >&2
