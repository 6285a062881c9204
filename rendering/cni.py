"""The bridge + host-local CNI conflist of a node."""

from __future__ import annotations

import json

from planning.plan import HostPlan
from rendering.files import RenderedFile
from rendering.layout import (
    CNI_CONFLIST_DIR,
    CNI_CONFLIST_PATH,
    CNI_DEBIAN_PLUGIN_DIR,
    CNI_PLUGIN_DIR,
    CNI_ROOT,
    CNI_STATE_DIR,
    CONTAINERD_PATH,
)

NETWORK_NAME = "kubev6"
BRIDGE = "cbr0"
PLUGINS = ("bridge", "host-local", "portmap", "loopback")
# Debian's containernetworking-plugins; containerd looks in /opt/cni/bin.
# The plugins' own state: host-local's leases, libcni's result cache.


def conflist(node: HostPlan) -> dict[str, object]:
    if node.pod_subnet is None:
        raise ValueError(f"{node.name} has no pod subnet")
    return {
        "cniVersion": "1.0.0",
        "name": NETWORK_NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "isDefaultGateway": True,
                # Pods keep their own addresses across nodes: routed, never masqueraded.
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": str(node.pod_subnet), "gateway": str(node.pod_gateway)}]],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def conflist_file(node: HostPlan) -> RenderedFile:
    return RenderedFile(CNI_CONFLIST_PATH, json.dumps(conflist(node), indent=2) + "\n")


def link_plugins_commands() -> list[str]:
    """Make the plugin binaries appear where containerd looks, keeping any already there."""
    return [f"mkdir -p {CNI_PLUGIN_DIR}"] + [
        f"[ -e {CNI_PLUGIN_DIR}/{p} ] || ln -s {CNI_DEBIAN_PLUGIN_DIR}/{p} {CNI_PLUGIN_DIR}/{p}" for p in PLUGINS
    ]


def unlink_plugins_commands() -> list[str]:
    """Remove the links `link_plugins_commands` made (only links to Debian's plugins), then empty dirs."""
    here, there = CNI_PLUGIN_DIR, CNI_DEBIAN_PLUGIN_DIR
    unlink = [f'[ "$(readlink {here}/{p})" != "{there}/{p}" ] || rm -f {here}/{p}' for p in PLUGINS]
    return [*unlink, f"rmdir {here} {here.rsplit('/', 1)[0]} 2>/dev/null"]


def remove_conf_dirs_command() -> str:
    """The conflist's folders, once no containerd is installed to watch them. containerd's CRI plugin
    stops when its conf dir is removed under it (containerd 2.3 `cni_conf_syncer.go`); started again
    (a supervisor, systemd) it makes the dir anew with mode 0700. So the runtime's delete, after
    containerd stopped and its binary went, removes them too: whichever of the two runs last does."""
    return f"[ -e {CONTAINERD_PATH} ] || rmdir {CNI_CONFLIST_DIR} {CNI_ROOT} 2>/dev/null"


def remove_network_commands() -> list[str]:
    """What the plugins left once the last pod is gone: the bridge and host-local's lease folder."""
    return [
        f"ip link del {BRIDGE} 2>/dev/null",
        f"rm -rf {CNI_STATE_DIR}/networks/{NETWORK_NAME}",
        # libcni's result cache (containerd): this network's entries only.
        f"rm -f {CNI_STATE_DIR}/results/{NETWORK_NAME}-*",
        f"rmdir {CNI_STATE_DIR}/results {CNI_STATE_DIR}/networks {CNI_STATE_DIR} 2>/dev/null",
    ]
