"""libvirt networks, storage pool, base image and domains (platform.kind: libvirt)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_libvirt as libvirt

from planning.plan import ClusterPlan, HostPlan
from planning.settings import LibvirtPlan
from rendering.cloud_init import mac_address, network_config, user_data

# The provider leaves out <dns> when `dns.enabled` is false, and libvirt's default is a resolver on the
# bridge: this stylesheet (the provider runs `xsltproc` on the network's XML) says <dns enable="no"/>.
NO_DNS_XSLT = """<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" omit-xml-declaration="yes" indent="yes"/>
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>
  <xsl:template match="/network/dns"/>
  <xsl:template match="/network">
    <xsl:copy><xsl:apply-templates select="@*|node()"/><dns enable="no"/></xsl:copy>
  </xsl:template>
</xsl:stylesheet>
"""


@dataclass(frozen=True)
class LibvirtInfraArgs:
    plan: ClusterPlan
    public_key: pulumi.Output[str]  # cloud-init authorises it for the SSH user


class LibvirtInfra(pulumi.ComponentResource):
    """The IPv6-only cluster network (no IPv4 element at all), the gateway's IPv4 uplink,
    a storage pool and the base image every machine's copy-on-write disk sits on. It is the
    `Machines` factory of libvirt stacks: `machine()` declares a host's domain."""

    provider: libvirt.Provider
    pool: libvirt.Pool
    base_image: libvirt.Volume
    cluster_network: libvirt.Network
    uplink_network: libvirt.Network

    def __init__(self, name: str, args: LibvirtInfraArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kubev6:index:LibvirtInfra", name, None, opts)
        plan = args.plan
        platform = plan.libvirt
        if platform is None:
            raise TypeError("LibvirtInfra needs platform.kind: libvirt")
        self.plan, self.platform, self.public_key = plan, platform, args.public_key
        self.provider = libvirt.Provider(f"{name}-provider", uri=platform.uri, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=self.provider)
        stack = pulumi.get_stack()
        self.pool = libvirt.Pool(
            f"{name}-pool",
            name=f"kubev6-{stack}",
            type="dir",
            target=libvirt.PoolTargetArgs(path=platform.pool_path),
            opts=child,
        )
        self.base_image = libvirt.Volume(
            f"{name}-base-image",
            name=f"kubev6-{stack}-base",
            pool=self.pool.name,
            source=platform.base_image,
            opts=child,
        )
        # The host takes the prefix's first address on the bridge, to reach the nodes over SSH.
        self.cluster_network = libvirt.Network(
            f"{name}-cluster",
            name=f"kubev6-{stack}-cluster",
            mode="none",
            bridge=platform.cluster_bridge,
            addresses=[str(plan.node_prefix)],
            dhcp=libvirt.NetworkDhcpArgs(enabled=False),
            dns=libvirt.NetworkDnsArgs(enabled=False),
            xml=libvirt.NetworkXmlArgs(xslt=NO_DNS_XSLT),
            autostart=True,
            opts=child,
        )
        self.uplink_network = libvirt.Network(
            f"{name}-uplink",
            name=f"kubev6-{stack}-uplink",
            mode="nat",
            bridge=platform.uplink_bridge,
            addresses=[str(platform.uplink_prefix)],
            dhcp=libvirt.NetworkDhcpArgs(enabled=False),
            dns=libvirt.NetworkDnsArgs(enabled=platform.uplink_dns),
            xml=None if platform.uplink_dns else libvirt.NetworkXmlArgs(xslt=NO_DNS_XSLT),
            autostart=True,
            opts=child,
        )
        self.register_outputs(
            {"cluster_network": self.cluster_network.name, "uplink_network": self.uplink_network.name}
        )

    def machine(self, host: HostPlan, parent: pulumi.Resource) -> list[pulumi.Resource]:
        """`host`'s domain (with its disk and cloud-init seed), children of `parent`, the component
        that asked for it."""
        return [self.domain(host, parent)]

    def domain(self, host: HostPlan, parent: pulumi.Resource) -> libvirt.Domain:
        """A machine: CoW disk over the base image, cloud-init (static IPv6, hostname, key)."""
        plan, platform, public_key = self.plan, self.platform, self.public_key
        opts = pulumi.ResourceOptions(parent=parent, provider=self.provider)
        disk = libvirt.Volume(
            f"{host.name}-disk",
            name=f"{host.name}.qcow2",
            pool=self.pool.name,
            base_volume_id=self.base_image.id,
            size=platform.disk_gib * 1024**3,
            opts=opts,
        )
        seed = libvirt.CloudInitDisk(
            f"{host.name}-cloud-init",
            name=f"{host.name}-cloud-init.iso",
            pool=self.pool.name,
            user_data=public_key.apply(lambda key: user_data(host, key, plan.ssh.user)),
            network_config=network_config(
                host, plan.cluster_interface, plan.node_prefix.prefixlen, plan.nameserver(host), plan.uplink
            ),
            opts=opts,
        )
        cluster_if = plan.cluster_interface
        interfaces = [
            libvirt.DomainNetworkInterfaceArgs(network_id=self.cluster_network.id, mac=mac_address(host, cluster_if))
        ]
        if host.role == "gateway" and plan.uplink is not None:
            uplink_if = plan.uplink.interface
            interfaces.append(
                libvirt.DomainNetworkInterfaceArgs(network_id=self.uplink_network.id, mac=mac_address(host, uplink_if))
            )
        memory = platform.gateway_memory_mib if host.role == "gateway" else platform.memory_mib
        boot: dict[str, object] = {}
        if platform.kernel is not None:
            boot = {"kernel": platform.kernel, "initrd": platform.initrd, "cmdlines": kernel_cmdline(platform)}
        return libvirt.Domain(
            f"{host.name}-domain",
            name=f"{pulumi.get_stack()}-{host.name}",
            type=platform.domain_type,
            vcpu=platform.vcpus,
            memory=memory,
            cloudinit=seed.id,
            disks=[libvirt.DomainDiskArgs(volume_id=disk.id)],
            network_interfaces=interfaces,
            consoles=[libvirt.DomainConsoleArgs(type="pty", target_port="0", target_type="serial")],
            autostart=True,
            **boot,  # type: ignore[arg-type]
            opts=opts,
        )


def kernel_cmdline(platform: LibvirtPlan) -> list[dict[str, str]]:
    """The command line in the exact form the provider reads back from the domain (else every `up`
    replaces the domains): it writes all words sorted, and reads the `key=value` words into maps (a
    repeated key starts the next map) followed by one map `_` of the bare words."""
    words = platform.kernel_cmdline or []
    maps: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for word in sorted(w for w in words if "=" in w):
        key, value = word.split("=", 1)
        if key in current:
            maps.append(current)
            current = {}
        current[key] = value
    if current:
        maps.append(current)
    flags = [w for w in words if "=" not in w]
    if flags:
        maps.append({"_": " ".join(flags)})
    return maps
