"""The pack's rules. Each reads what the resources really carry (rendered scripts, libvirt networks,
component and stack outputs), so it also catches what a changed program would let through; the
config checks of `config_schemas/` refuse most bad configs before any resource exists.

During `preview` some inputs are unknown (the kubeadm scripts wait for the generated token): a
rule checks what is known and, for the token's lifetime, falls back to the stack config. `up`
runs the same rules on the resolved inputs before each resource is created.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from config_schemas.versions import read_versions
from policy.values import (
    GATEWAY_COMPONENT,
    ipv4_literals,
    is_known,
    is_node_side,
    is_secret,
    parent_types,
    plain,
    reveal,
    stack_config,
)

REMOTE = "command:remote:Command"
LOCAL = "command:local:Command"
STACK = "pulumi:pulumi:Stack"
RFC6052_LENGTHS = (32, 40, 48, 56, 64, 96)


def _text(props: dict[str, Any], key: str) -> str | None:
    value = reveal(props.get(key))
    return value if isinstance(value, str) else None


# --- IPv6 only -------------------------------------------------------------------------------


def _no_ipv4_on_nodes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props, kind, name = plain(args.props), args.resource_type, args.name
    fix = (
        "the cluster is IPv6-only and its nodes reach IPv4 only by name through DNS64/NAT64: give an IPv6 "
        "address or a host name instead (look at kubev6:kubernetes.imageRepository, packageRepository, "
        "workloads.*, and the stack's network keys)"
    )
    if kind == REMOTE and is_node_side(args.urn):
        for field in ("create", "delete"):
            hits = ipv4_literals(_text(props, field) or "")
            if hits:
                report(f"{name} would configure IPv4 {', '.join(hits)} on a node (its {field} script): {fix}")
    elif kind == "libvirt:index/network:Network" and name.endswith("-cluster"):
        hits = [a for a in reveal(props.get("addresses")) or [] if ipv4_literals(str(reveal(a)))]
        if hits or reveal(props.get("mode")) not in (None, "none"):
            report(
                f"{name}, the cluster network, has IPv4 {hits or ''} or a NAT/route mode "
                f"({reveal(props.get('mode'))}): it must be IPv6-only (mode none, only network.nodePrefix)"
            )
    elif kind.startswith("libvirt:") and is_node_side(args.urn):
        hits = ipv4_literals(json.dumps(_revealed(props)))
        if hits:
            report(f"{name} gives a node IPv4 {', '.join(hits)}: {fix}")
    elif kind.startswith("kubernetes:"):
        spec = _revealed(props.get("spec"))
        families = (spec or {}).get("ipFamilies") if isinstance(spec, dict) else None
        if families and families != ["IPv6"]:
            report(f"{name} asks for IP families {families}: the cluster's services are IPv6 only (ipFamilies [IPv6])")
        hits = ipv4_literals(json.dumps(spec)) if spec else []
        if hits:
            report(f"{name} puts IPv4 {', '.join(hits)} into its pods: {fix}")


def _revealed(value: Any) -> Any:
    """The value with secrets opened and unknowns as None: for scanning, never for reporting."""
    value = reveal(value)
    if isinstance(value, dict):
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v) for v in value]
    return value


def _ipv6_addressing(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every address the stack reports for its machines, pods and services is IPv6, pod subnets /64s."""
    seen_pods: dict[str, str] = {}
    for r in args.resources:
        props = _revealed(plain(r.props))
        claims: list[tuple[str, Any, bool]] = []  # (what, value, is a pod /64)
        if r.resource_type == STACK:
            for node, facts in (props.get("nodes") or {}).items():
                claims += [(f"output nodes.{node}.address", facts.get("address"), False)]
                claims += [(f"output nodes.{node}.podSubnet", facts.get("podSubnet"), True)]
            claims += [("output serviceSubnet", props.get("serviceSubnet"), False)]
            claims += [("output clusterDns", props.get("clusterDns"), False)]
            claims += [("output gateway.address", (props.get("gateway") or {}).get("address"), False)]
        elif r.resource_type.startswith("kubev6:index:"):
            claims += [(f"{r.name}.address", props.get("address"), False)]
            claims += [(f"{r.name}.pod_subnet", props.get("pod_subnet"), True)]
        for what, value, is_pod in claims:
            if value is None:
                continue
            try:
                net = ipaddress.ip_network(str(value), strict=False)
            except ValueError:
                report(f"{what} is {value!r}, not an IPv6 address or prefix", r.urn)
                continue
            if net.version != 6:
                report(f"{what} is IPv4 {value}: nodes, pods and services of this cluster are IPv6-only", r.urn)
            elif is_pod and net.prefixlen != 64:
                report(f"{what} is {value}: each node's pods get one /64 (nodes[].podSubnet)", r.urn)
            elif is_pod and what.startswith("output"):
                owner = seen_pods.setdefault(str(net), what)
                if owner != what:
                    report(f"{what} {value} is also {owner}: each node needs a pod /64 of its own", r.urn)


# --- NAT64 prefix ----------------------------------------------------------------------------

_PREFIX_IN_SCRIPTS = (
    ("NAT64 (Jool pool6)", re.compile(r"--pool6 (\S+)")),
    ("NAT64 (TAYGA prefix)", re.compile(r"^prefix (\S+)", re.M)),
    ("DNS64 (Unbound dns64-prefix)", re.compile(r"dns64-prefix: (\S+)")),
    ("DNS64 (BIND9 dns64)", re.compile(r"^\s*dns64 (\S+) \{", re.M)),
    ("route to NAT64", re.compile(r"^(\S+) via \S+ # NAT64$", re.M)),
)


def rfc6052_problem(prefix: str) -> str | None:
    """Why `prefix` cannot be a NAT64 prefix (RFC 6052 section 2.2), None if it can."""
    try:
        net = ipaddress.IPv6Network(prefix)
    except ValueError as exc:
        return f"{prefix!r} is not an IPv6 prefix ({exc})"
    if net.prefixlen not in RFC6052_LENGTHS:
        return f"{prefix} has length /{net.prefixlen}; RFC 6052 allows only /32, /40, /48, /56, /64 or /96"
    if net.prefixlen == 96 and (int(net.network_address) >> 56) & 0xFF:
        return f"{prefix}: bits 64-71 (the 'u' octet) must be zero (RFC 6052 section 2.2)"
    return None


def _network(prefix: str) -> str:
    try:
        return str(ipaddress.ip_network(prefix, strict=False))
    except ValueError:
        return prefix


def _nat64_prefix(args: StackValidationArgs, report: ReportViolation) -> None:
    """The NAT64 prefix is of an RFC 6052 length, and translator, DNS64, routes and outputs agree on it."""
    claims: list[tuple[str, str, str]] = []  # (where, prefix, urn)
    for r in args.resources:
        props = _revealed(plain(r.props))
        if r.resource_type == STACK and (props.get("gateway") or {}).get("nat64Prefix"):
            claims.append(("stack output gateway.nat64Prefix", props["gateway"]["nat64Prefix"], r.urn))
        elif r.resource_type == GATEWAY_COMPONENT and props.get("nat64_prefix"):
            claims.append((f"{r.name}.nat64_prefix", props["nat64_prefix"], r.urn))
        elif r.resource_type == REMOTE and isinstance(props.get("create"), str):
            for what, pattern in _PREFIX_IN_SCRIPTS:
                for prefix in pattern.findall(props["create"]):
                    claims.append((f"{what} in {r.name}", prefix, r.urn))
    for where, prefix, urn in claims:
        problem = rfc6052_problem(prefix)
        if problem:
            report(f"{where}: {problem}; set kubev6:network.nat64Prefix, e.g. 64:ff9b::/96", urn)
    if len({_network(p) for _, p, _ in claims}) > 1:
        listing = "; ".join(f"{where}: {p}" for where, p, _ in claims)
        report(f"the NAT64 prefix differs between resources ({listing}): DNS64 would answer in a prefix nothing "
               "translates; all must be kubev6:network.nat64Prefix")  # fmt: skip


# --- credentials -----------------------------------------------------------------------------

_BOOTSTRAP_TOKEN = re.compile(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b")  # kubeadm's token format
_TOKEN_PLACEHOLDER = "@KUBEV6_BOOTSTRAP_TOKEN@"  # rendering.steps.TOKEN_PLACEHOLDER
# What prints a credential: the admin kubeconfig read out, a token made or used, a key, the CA hash.
# (kubectl *with* admin.conf, as a drain, prints none: its messages stay in the log.)
_CREDENTIAL_MARKERS = ("cat /etc/kubernetes/admin.conf", "kubeadm init", "kubeadm join", "kubeadm token create",
                       "ssh-keygen -q", "openssl x509 -pubkey", "import secrets")  # fmt: skip
_CREDENTIAL_PARENTS = ("kubev6:index:KubeadmMaster", "kubev6:index:KubeadmMinion",
                       "kubev6:index:KubeadmControlPlaneMember", "kubev6:index:SshKeyPair")  # fmt: skip


def _prints_credentials(args: ResourceValidationArgs, create: str | None) -> bool:
    """Commands whose output is a credential: the generated key and tokens (init's, each join's),
    kubeadm's init and joins (tokens in their logs), the CA hash and the admin kubeconfig."""
    if create is not None:
        return any(m in create for m in _CREDENTIAL_MARKERS)
    parents = parent_types(args.urn)
    # Unknown script (preview): the kubeadm commands, whose scripts embed the token.
    return any(p in _CREDENTIAL_PARENTS[:3] for p in parents)


def _credentials_secret(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props, kind, name = plain(args.props), args.resource_type, args.name
    if kind == REMOTE:
        connection = props.get("connection")
        key = reveal(connection).get("privateKey") if isinstance(reveal(connection), dict) else None
        if connection is not None and not is_secret(connection) and key is not None and not is_secret(key):
            report(
                f"{name}: the SSH private key in its connection is not a secret: set it with "
                "`pulumi config set --secret sshPrivateKey < key`, or let the stack generate one"
            )
    if kind in (REMOTE, LOCAL):
        create = _text(props, "create")
        if _prints_credentials(args, create):
            marked = set(args.opts.additional_secret_outputs or [])
            logging = reveal(props.get("logging"))
            if not {"stdout", "stderr"} <= marked or logging not in (None, "none"):
                report(
                    f"{name} prints credentials (key, join token, CA hash or kubeconfig), but its stdout/stderr "
                    f"are not secret outputs (additionalSecretOutputs {sorted(marked)}, logging {logging}): "
                    "declare it with components.remote.run(..., secret=True) so state and logs hold them encrypted"
                )
        # Pulumi prints a failed command's script whole in its log, secret or not: a join token
        # goes on the command's stdin, never into its script.
        if create and _BOOTSTRAP_TOKEN.search(create):
            report(
                f"{name}'s script holds a bootstrap token, which a failed run prints in Pulumi's log: "
                "write a placeholder and pass the token on stdin (rendering.steps.stdin_secrets)"
            )
        stdin = props.get("stdin")
        if kind == LOCAL and is_known(stdin) and not is_secret(stdin):
            report(f"{name} gets its stdin (a private key) in clear: pass a secret Output")
        if kind == REMOTE and create and _TOKEN_PLACEHOLDER in create and is_known(stdin) and not is_secret(stdin):
            report(f"{name} gets the join credentials on stdin in clear: pass a secret Output")
    elif kind == "pulumi:providers:kubernetes":
        kubeconfig = props.get("kubeconfig")
        if is_known(kubeconfig) and not is_secret(kubeconfig):
            report(f"{name}'s kubeconfig (cluster-admin credentials) is not a secret: pass the master's secret Output")


def _secret_outputs(args: StackValidationArgs, report: ReportViolation) -> None:
    for r in args.resources:
        if r.resource_type != STACK:
            continue
        props = plain(r.props)
        for key in ("kubeconfig", "joinToken", "caCertHash", "certificateKey"):
            if is_known(props.get(key)) and not is_secret(props.get(key)):
                report(
                    f"stack output {key} is in clear: export it as a secret (pulumi.Output.secret), "
                    "it is cluster credentials",
                    r.urn,
                )


# --- join token ------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")


def go_duration_seconds(text: str) -> float:
    """A Go duration (`24h0m0s`, `90m`, `0s`) in seconds; ValueError if it is not one."""
    text = text.strip()
    if text in ("0", "-0", "+0"):
        return 0.0
    scale = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    sign, body = (-1.0, text[1:]) if text.startswith("-") else (1.0, text.removeprefix("+"))
    parts = _DURATION_PART.findall(body)
    if not parts or "".join(a + b for a, b in parts) != body:
        raise ValueError(f"{text!r} is not a Go duration")
    return sign * sum(float(n) * scale[u] for n, u in parts)


def _token_expires(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != REMOTE:
        return
    create = _text(plain(args.props), "create")
    if create is not None and "kubeadm token create" in create:
        # A join's own token (kubev6:kubernetes.joinTokenTtl); kubeadm's default is 24h.
        ttls = re.findall(r"kubeadm token create\b.*?--ttl[ =](\S+)", create) or ["24h0m0s"]
        source = "its kubeadm token create"
    elif "kubev6:index:KubeadmMaster" not in parent_types(args.urn):
        return
    elif create is not None:
        if "kubeadm init" not in create:
            return
        ttls = re.findall(r"^\s*ttl: (\S+)$", create, re.M) or ["24h0m0s"]  # kubeadm's default
        source = "its kubeadm config"
    elif args.name.endswith("-init"):
        # Preview: the script waits for the generated token; the lifetime it gets is the config's.
        ttls = [str((stack_config("kubernetes") or {}).get("tokenTtl", "24h0m0s"))]
        source = "kubev6:kubernetes.tokenTtl"
    else:
        return
    for ttl in ttls:
        try:
            seconds = go_duration_seconds(ttl.strip("'\""))
        except ValueError:
            report(f"{args.name}: bootstrap token ttl {ttl!r} ({source}) is not a Go duration")
            continue
        if seconds <= 0:
            report(
                f"{args.name} would create a bootstrap token that never expires (ttl {ttl}, {source}): whoever "
                "reads it can join machines to the cluster for ever. Set kubev6:kubernetes.tokenTtl to a "
                "lifetime such as 24h0m0s"
            )


# --- Kubernetes version ----------------------------------------------------------------------

_VERSION_IN_SCRIPTS = (
    re.compile(r'kubeadm version -o short 2>/dev/null\)" != "v([^"]+)"'),
    re.compile(r"^kubernetesVersion: v?(\S+)$", re.M),
)


def _version_from_artifacts(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != REMOTE or not is_node_side(args.urn):
        return
    create = _text(plain(args.props), "create") or ""
    built = read_versions()["KUBERNETES_VERSION"]
    for pattern in _VERSION_IN_SCRIPTS:
        for version in set(pattern.findall(create)):
            if not re.fullmatch(r"\d+\.\d+\.\d+", version):
                report(f"{args.name} installs Kubernetes {version!r}: pin a patch release such as {built}")
            elif version != built:
                report(
                    f"{args.name} installs Kubernetes {version}, but the project's artifacts, kubeadm configs and "
                    f"tests are for {built} (artifacts/versions.env): set kubev6:kubernetes.version to {built}, "
                    "or move KUBERNETES_VERSION in artifacts/versions.env and rebuild (scripts/build-artifacts.sh)"
                )


POLICIES = (
    ResourceValidationPolicy(
        name="ipv6-only-nodes",
        description="No IPv4 address or prefix in what the nodes, their libvirt network and domains, and pods get.",
        validate=_no_ipv4_on_nodes,
    ),
    StackValidationPolicy(
        name="ipv6-only-addressing",
        description="Node, pod, service and gateway addresses the stack reports are IPv6; pod subnets distinct /64s.",
        validate=_ipv6_addressing,
    ),
    StackValidationPolicy(
        name="nat64-prefix-rfc6052",
        description="The NAT64 prefix is /32, /40, /48, /56, /64 or /96 (RFC 6052), the same in NAT64, DNS64, routes.",
        validate=_nat64_prefix,
    ),
    ResourceValidationPolicy(
        name="credentials-are-secrets",
        description="SSH private key, join token, CA hash and kubeconfig are secrets wherever a resource holds them.",
        validate=_credentials_secret,
    ),
    StackValidationPolicy(
        name="credential-outputs-are-secrets",
        description="The stack outputs kubeconfig, joinToken, caCertHash and certificateKey are secrets.",
        validate=_secret_outputs,
    ),
    ResourceValidationPolicy(
        name="join-token-expires",
        description="kubeadm's bootstrap tokens have a lifetime: init's (kubernetes.tokenTtl is not 0s) and "
        "each join's own (`kubeadm token create --ttl`).",
        validate=_token_expires,
    ),
    ResourceValidationPolicy(
        name="kubernetes-version-from-artifacts",
        description="Nodes install the Kubernetes patch release the artifacts are built for (artifacts/versions.env).",
        validate=_version_from_artifacts,
    ),
)
