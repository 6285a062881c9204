"""IPv6/IPv4 field types for the stack config.

Every address-like field is parsed with netaddr and rejected with a message that
names the family it expected, so `kubev6:network.nodePrefix: 10.0.0.0/8` fails as
"expected an IPv6 prefix, got IPv4" instead of as a routing surprise later.
"""

from __future__ import annotations

from typing import Annotated

import netaddr
from pydantic import AfterValidator, BeforeValidator, PlainSerializer


def _parse_network(value: object, version: int) -> netaddr.IPNetwork:
    kind = "IPv6" if version == 6 else "IPv4"
    if isinstance(value, netaddr.IPNetwork):
        net = value
    else:
        text = str(value).strip()
        if "/" not in text:
            raise ValueError(f"expected an {kind} prefix with a length (like {_example(version, True)}), got {text!r}")
        try:
            net = netaddr.IPNetwork(text)
        except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
            raise ValueError(f"{text!r} is not an {kind} prefix ({exc})") from None
    if net.version != version:
        raise ValueError(f"expected an {kind} prefix, got IPv{net.version} {net}")
    if net.ip != net.network:
        raise ValueError(f"{net} has host bits set; did you mean {net.cidr}?")
    return net


def _parse_address(value: object, version: int) -> netaddr.IPAddress:
    kind = "IPv6" if version == 6 else "IPv4"
    if isinstance(value, netaddr.IPAddress):
        addr = value
    else:
        text = str(value).strip()
        if "/" in text:
            raise ValueError(f"expected a single {kind} address without a prefix length, got {text!r}")
        try:
            addr = netaddr.IPAddress(text)
        except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
            raise ValueError(f"{text!r} is not an {kind} address ({exc})") from None
    if addr.version != version:
        raise ValueError(f"expected an {kind} address, got IPv{addr.version} {addr}")
    return addr


def _example(version: int, prefix: bool) -> str:
    if version == 6:
        return "fd00::/64" if prefix else "fd00::100"
    return "192.0.2.0/24" if prefix else "192.0.2.1"


def _interface4(value: object) -> netaddr.IPNetwork:
    """An IPv4 address with its on-link prefix, e.g. 192.168.164.2/24."""
    text = str(value).strip()
    if "/" not in text:
        raise ValueError(f"expected an IPv4 address with a prefix length (like 192.0.2.2/24), got {text!r}")
    try:
        iface = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise ValueError(f"{text!r} is not an IPv4 interface address ({exc})") from None
    if iface.version != 4:
        raise ValueError(f"expected an IPv4 interface address, got IPv{iface.version} {iface}")
    return iface


# Unicast IPv6: global (2000::/3) and unique local (fc00::/7); NAT64 also takes the well-known
# prefix and RFC 8215's local-use 64:ff9b:1::/48. Anything else is multicast, link-local or
# reserved: no route or address of the cluster can live there.
UNICAST6 = (netaddr.IPNetwork("2000::/3"), netaddr.IPNetwork("fc00::/7"))
NAT64_WELL_KNOWN = (netaddr.IPNetwork("64:ff9b::/96"), netaddr.IPNetwork("64:ff9b:1::/48"))
_NOT_UNICAST6 = (
    (netaddr.IPNetwork("ff00::/8"), "multicast ff00::/8"),
    (netaddr.IPNetwork("fe80::/10"), "link-local fe80::/10"),
    (netaddr.IPNetwork("fec0::/10"), "deprecated site-local fec0::/10"),
    (netaddr.IPNetwork("::/8"), "reserved ::/8: unspecified, loopback, IPv4-mapped"),
)
_NOT_UNICAST4 = (
    (netaddr.IPNetwork("0.0.0.0/8"), "'this network' 0.0.0.0/8"),
    (netaddr.IPNetwork("224.0.0.0/4"), "multicast 224.0.0.0/4"),
    (netaddr.IPNetwork("240.0.0.0/4"), "reserved 240.0.0.0/4 and broadcast"),
)


def _inside(net: netaddr.IPNetwork, block: netaddr.IPNetwork) -> bool:
    return block.first <= net.first and net.last <= block.last


def _why_not_unicast(net: netaddr.IPNetwork, known: tuple[tuple[netaddr.IPNetwork, str], ...]) -> str | None:
    return next((why for block, why in known if net.first <= block.last and block.first <= net.last), None)


def _unicast6(net: netaddr.IPNetwork, nat64: bool = False) -> netaddr.IPNetwork:
    allowed = UNICAST6 + (NAT64_WELL_KNOWN if nat64 else ())
    if any(_inside(net, block) for block in allowed):
        return net
    why = _why_not_unicast(net, _NOT_UNICAST6) or "outside the global and unique local ranges"
    use = (
        "64:ff9b::/96, a global (2000::/3) or a unique local (fc00::/7) prefix"
        if nat64
        else ("a global (2000::/3) or unique local (fc00::/7) prefix")
    )
    raise ValueError(f"{net} is not a unicast prefix ({why}); use {use}")


def _unicast4(value: netaddr.IPNetwork | netaddr.IPAddress) -> netaddr.IPNetwork | netaddr.IPAddress:
    net = netaddr.IPNetwork(f"{value}/32") if isinstance(value, netaddr.IPAddress) else value
    why = _why_not_unicast(net, _NOT_UNICAST4)
    if why:
        kind = "address" if isinstance(value, netaddr.IPAddress) else "prefix"
        raise ValueError(f"{value} is not a unicast IPv4 {kind} ({why})")
    return value


_str = PlainSerializer(str, return_type=str)

IPv6Prefix = Annotated[netaddr.IPNetwork, BeforeValidator(lambda v: _parse_network(v, 6)), _str]
IPv4Prefix = Annotated[netaddr.IPNetwork, BeforeValidator(lambda v: _parse_network(v, 4)), _str]
IPv6Address = Annotated[netaddr.IPAddress, BeforeValidator(lambda v: _parse_address(v, 6)), _str]
IPv4Address = Annotated[netaddr.IPAddress, BeforeValidator(lambda v: _parse_address(v, 4)), _str]
IPv4Interface = Annotated[netaddr.IPNetwork, BeforeValidator(_interface4), _str]

UnicastIPv6Prefix = Annotated[IPv6Prefix, AfterValidator(_unicast6)]
Nat64Prefix = Annotated[IPv6Prefix, AfterValidator(lambda v: _unicast6(v, nat64=True))]
UnicastIPv4Prefix = Annotated[IPv4Prefix, AfterValidator(_unicast4)]
UnicastIPv4Address = Annotated[IPv4Address, AfterValidator(_unicast4)]
UnicastIPv4Interface = Annotated[IPv4Interface, AfterValidator(lambda v: _unicast4(v.ip) and v)]
