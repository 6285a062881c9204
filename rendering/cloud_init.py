"""cloud-init NoCloud data for libvirt machines: static IPv6, host name, SSH key."""

from __future__ import annotations

import hashlib

import yaml

from planning.plan import ClusterPlan, HostPlan


def mac_address(host: HostPlan, interface: str) -> str:
    """Stable locally administered MAC (52:54:00 is QEMU's prefix) per host and interface."""
    digest = hashlib.sha256(f"{host.name}/{interface}".encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def user_data(plan: ClusterPlan, host: HostPlan, public_key: str, user: str) -> str:
    key = public_key.strip()
    doc: dict[str, object] = {
        "hostname": host.name,
        "manage_etc_hosts": False,
        "disable_root": user != "root",
        "ssh_pwauth": False,
    }
    if user == "root":
        # The top-level keys go to root (disable_root: false) and the image's default user.
        doc["users"] = ["default"]
        doc["ssh_authorized_keys"] = [key]
    else:
        # Only the named user gets the key. No top-level ssh_authorized_keys at all: cloud-init's
        # schema refuses an empty list there.
        doc["users"] = [{"name": user, "ssh_authorized_keys": [key], "sudo": "ALL=(ALL) NOPASSWD:ALL"}]
    return "#cloud-config\n" + yaml.safe_dump(doc, sort_keys=False)


def network_config(plan: ClusterPlan, host: HostPlan) -> str:
    """Netplan-style v2; IPv6 only on the cluster side, no RA/SLAAC, no DHCP."""
    cluster = plan.config.network.cluster_interface
    prefixlen = plan.node_prefix.prefixlen
    ethernets: dict[str, object] = {
        cluster: {
            "match": {"macaddress": mac_address(host, cluster)},
            "set-name": cluster,
            "dhcp4": False,
            "dhcp6": False,
            "accept-ra": False,
            "addresses": [f"{host.address}/{prefixlen}"],
        }
    }
    if host.role == "gateway":
        gw = plan.config.gateway
        uplink = gw.uplink_interface
        ethernets[uplink] = {
            "match": {"macaddress": mac_address(host, uplink)},
            "set-name": uplink,
            "dhcp4": False,
            "dhcp6": False,
            "addresses": [str(gw.uplink_address)],
            "routes": [{"to": "0.0.0.0/0", "via": str(gw.uplink_gateway or gw.uplink_address.network + 1)}],
        }
    else:
        ethernets[cluster]["nameservers"] = {"addresses": [str(plan.gateway.address)]}  # type: ignore[index]
    return yaml.safe_dump({"version": 2, "ethernets": ethernets}, sort_keys=False)
