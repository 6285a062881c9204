"""IPv6/IPv4 field types for the stack config.

Every address-like field is parsed with netaddr and rejected with a message that
names the family it expected, so `kubev6:network.nodePrefix: 10.0.0.0/8` fails as
"expected an IPv6 prefix, got IPv4" instead of as a routing surprise later.
"""

from __future__ import annotations

from typing import Annotated

import netaddr
from pydantic import BeforeValidator, PlainSerializer


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


_str = PlainSerializer(str, return_type=str)

IPv6Prefix = Annotated[netaddr.IPNetwork, BeforeValidator(lambda v: _parse_network(v, 6)), _str]
IPv4Prefix = Annotated[netaddr.IPNetwork, BeforeValidator(lambda v: _parse_network(v, 4)), _str]
IPv6Address = Annotated[netaddr.IPAddress, BeforeValidator(lambda v: _parse_address(v, 6)), _str]
IPv4Address = Annotated[netaddr.IPAddress, BeforeValidator(lambda v: _parse_address(v, 4)), _str]
IPv4Interface = Annotated[netaddr.IPNetwork, BeforeValidator(_interface4), _str]
