"""cloud-init NoCloud data for libvirt machines: static IPv6, host name, SSH key."""

from __future__ import annotations

import hashlib

import netaddr
import yaml

from planning.plan import HostPlan, UplinkPlan


def mac_address(host: HostPlan, interface: str) -> str:
    """Stable locally administered MAC (52:54:00 is QEMU's prefix) per host and interface."""
    digest = hashlib.sha256(f"{host.name}/{interface}".encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def user_data(host: HostPlan, public_key: str, user: str) -> str:
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


def network_config(
    host: HostPlan, cluster: str, prefixlen: int, nameserver: netaddr.IPAddress, uplink: UplinkPlan | None
) -> str:
    """Netplan-style v2; IPv6 only on the cluster side (`cluster`, the node network's `prefixlen`), no
    RA/SLAAC, no DHCP; the gateway also gets its IPv4 `uplink`."""
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
        if uplink is None:
            raise ValueError(f"{host.name}: the gateway needs its uplink (gateway.uplinkAddress)")
        ethernets[uplink.interface] = {
            "match": {"macaddress": mac_address(host, uplink.interface)},
            "set-name": uplink.interface,
            "dhcp4": False,
            "dhcp6": False,
            "addresses": [str(uplink.address)],
            "routes": [{"to": "0.0.0.0/0", "via": str(uplink.next_hop)}],
        }
    else:
        ethernets[cluster]["nameservers"] = {"addresses": [str(nameserver)]}  # type: ignore[index]
    return yaml.safe_dump({"version": 2, "ethernets": ethernets}, sort_keys=False)
