"""String and number field types of the stack config.

Every string the config holds ends up somewhere that parses it: an nft rule, a shell script, an
Unbound or containerd config, kubeadm YAML, an apt source line, a libvirt call. Each type accepts
only what its destination means (an interface name, a DNS name, an image reference, ...), so a
quote, a newline or a `$(...)` is refused here, naming the key, instead of being injected into a
rendered file. Counts and sizes are whole numbers: YAML `true` is not 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

IFNAMSIZ = 15  # Linux interface names: at most 15 bytes
# Names the kernel already uses: sysctls under net.ipv6.conf.<name> (rendered per interface) would hit them.
RESERVED_INTERFACE_NAMES = {
    "lo": "is the loopback",
    "all": "names every interface in net.ipv6.conf",
    "default": "names the defaults of new interfaces in net.ipv6.conf",
}


def _checked(pattern: str, what: str, max_length: int | None = None) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value) or (max_length is not None and len(value) > max_length):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return check


def _interface_name(value: str) -> str:
    # Stricter than the kernel (which also takes e.g. '@' or '#'): the name is written into nft
    # rules and shell scripts unquoted or double-quoted.
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", value) or value in (".", ".."):
        raise ValueError(
            f"{value!r} is not a Linux interface name (1 to {IFNAMSIZ} letters, digits, '-', '_' or '.'; "
            "not '.' or '..')"
        )
    if value in RESERVED_INTERFACE_NAMES:
        raise ValueError(f"{value!r} {RESERVED_INTERFACE_NAMES[value]}; pick another interface name")
    return value


def _whole_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {type(value).__name__} {value!r}")
    return value


_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_ANY_CASE_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
# Container image references (the distribution/reference grammar, without IPv6 registries).
_DOMAIN = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*"
_REPOSITORY = rf"({_DOMAIN}/)?{_PATH_COMPONENT}(/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
# URLs without anything a shell, an apt source line or a YAML scalar would read specially.
_URL_HOST = r"([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])"
# No '?', '&', ';', '#', '*' or brackets: the package URL is a word of a shell command line.
_URL_PATH = r"[A-Za-z0-9._~:/@%+=,-]*"
_SAFE_PATH = r"/[A-Za-z0-9._+@%=,:/-]*"


def _dns_zone(value: str) -> str:
    """A DNS name Unbound can serve locally: labels, any case, with or without the final dot."""
    name = value.removesuffix(".")
    if not re.fullmatch(rf"{_ANY_CASE_LABEL}(\.{_ANY_CASE_LABEL})*", name) or len(name) > 253:
        raise ValueError(f"{value!r} is not a DNS zone name like test. (labels of letters, digits, '-', '_')")
    return name + "."


InterfaceName = Annotated[str, AfterValidator(_interface_name)]
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]

# RFC 1123 label: host names, kubeadm's cluster name, Kubernetes namespaces.
Hostname = Annotated[
    str,
    AfterValidator(
        _checked(
            _LABEL,
            "a valid host name (lower-case letters, digits and '-', at most 63 characters, no leading or trailing '-')",
        )
    ),
]
# A DNS-1123 subdomain, as Kubernetes requires of the cluster domain.
DnsDomain = Annotated[
    str,
    AfterValidator(
        _checked(rf"{_LABEL}(\.{_LABEL})*", "a DNS domain like cluster.local (lower-case labels joined by '.')", 253)
    ),
]
DnsZone = Annotated[str, AfterValidator(_dns_zone)]
# Where SSH reaches a machine: a host name or an IP address literal (no brackets).
SshHost = Annotated[
    str,
    AfterValidator(
        _checked(
            rf"{_ANY_CASE_LABEL}(\.{_ANY_CASE_LABEL})*|[0-9A-Fa-f:.]+",
            "a host name or an IP address (SSH connects to it)",
            253,
        )
    ),
]
UserName = Annotated[
    str, AfterValidator(_checked(r"[a-z_][a-z0-9_-]{0,31}", "a Linux user name (like debian or root)"))
]
ImageRepository = Annotated[
    str,
    AfterValidator(_checked(_REPOSITORY, "an image repository like registry.k8s.io or registry.example:5000/k8s")),
]
ImageReference = Annotated[
    str,
    AfterValidator(
        _checked(rf"{_REPOSITORY}(:{_TAG})?(@{_DIGEST})?", "a container image reference like busybox:1.36", 4096)
    ),
]
HttpUrl = Annotated[
    str,
    AfterValidator(
        _checked(
            rf"https?://{_URL_HOST}(:[0-9]+)?(/{_URL_PATH})?",
            "an http(s) URL without spaces, quotes, '$', '`' or '\\'",
            2048,
        )
    ),
]
AbsolutePath = Annotated[
    str, AfterValidator(_checked(_SAFE_PATH, "an absolute path of letters, digits and ._+@%=,:/- only", 4096))
]
# A cloud image: an http(s) URL, or a path on the libvirt host.
ImageSource = Annotated[
    str,
    AfterValidator(
        _checked(
            rf"https?://{_URL_HOST}(:[0-9]+)?(/{_URL_PATH})?|{_SAFE_PATH}",
            "an http(s) URL or an absolute path, without spaces, quotes, '$', '`' or '\\'",
            4096,
        )
    ),
]
LibvirtUri = Annotated[
    str,
    AfterValidator(
        _checked(
            rf"[a-z][a-z0-9+.-]*://([A-Za-z0-9._-]+@)?({_URL_HOST})?(:[0-9]+)?/{_URL_PATH}",
            "a libvirt URI like qemu:///system or qemu+ssh://user@host/system",
            2048,
        )
    ),
]


def go_duration(example: str, note: str = "") -> Callable[[str], str]:
    """Go's time.ParseDuration syntax (what kubeadm reads), non-negative: 24h0m0s, 90s, 1.5h, 0."""
    return _checked(r"0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))+", f"a Go duration like {example}{note}")


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    """A Go duration (as `go_duration` accepts it) in seconds: `5m0s` -> 300.0."""
    if text == "0":
        return 0.0
    parts = re.findall(r"([0-9]*\.?[0-9]*)(ns|us|µs|ms|s|m|h)", text)
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)
