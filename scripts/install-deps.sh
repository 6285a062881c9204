#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine (run as root):
# the Debian packages of the network lab and of libvirt, the Python virtualenv in .venv, and
# the Pulumi toolchain at the pinned versions (scripts/toolchain.sh; offline from the bundle
# folder KUBEV6_PULUMI_BUNDLE names).
# Idempotent: a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
# The README's two commands may start at once in one clone: one installs, the other waits for it
# (two unpacking the toolchain into .tools/ at the same time broke both; seen).
mkdir -p .tools
exec 9>.tools/install-deps.lock
flock 9

DEBS=(
  python3-venv iproute2 procps psmisc nftables iptables kmod
  containernetworking-plugins tayga unbound bind9 bind9-dnsutils dnsmasq-base
  iperf3 curl openssh-server openssh-client debootstrap
  libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils genisoimage xsltproc
  conntrack socat ethtool libseccomp-dev pkg-config graphviz haproxy
)
missing=()
for pkg in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Debian starts a package's daemon (unbound, named, sshd) as soon as it is installed; the project
# runs its own instances. A policy-rc.d that refuses every start keeps them from starting at all:
# set-up never stops a process by name (that killed the daemons of other people's running labs).
# An existing policy-rc.d (a container's, or another install's) is left as it is. Tests point
# KUBEV6_POLICY_RC_D into a temp dir.
POLICY="${KUBEV6_POLICY_RC_D:-/usr/sbin/policy-rc.d}"
POLICY_MARK="kube-v6 install-deps: no daemon starts while packages are installed"
remove_policy() {
  if grep -qF "$POLICY_MARK" "$POLICY" 2>/dev/null; then rm -f "$POLICY"; fi
}
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  if [[ ! -e $POLICY ]]; then
    printf '#!/bin/sh\n# %s\nexit 101\n' "$POLICY_MARK" > "$POLICY"
    chmod 0755 "$POLICY"
    trap remove_policy EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  remove_policy
  trap - EXIT
  # Under systemd the packaged units stay enabled for the next boot: disable (not stop) those of
  # the packages installed just now; units that were there before are not ours to change.
  if [[ -d /run/systemd/system ]]; then
    for pkg_unit in unbound:unbound.service bind9:named.service haproxy:haproxy.service; do
      if [[ " ${missing[*]} " == *" ${pkg_unit%%:*} "* ]]; then
        systemctl disable --quiet "${pkg_unit#*:}" 2>/dev/null || true
      fi
    done
  fi
fi

PY="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha
want="$(cat requirements.txt requirements-dev.txt policy/requirements.txt | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
bash scripts/toolchain.sh >/dev/null
echo "install-deps: ok" >&2
