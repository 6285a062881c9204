"""Properties of the rendered files, checked by reading (or running) them, not by
rendering them a second way."""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netaddr import IPAddress, IPNetwork

from config_schemas import parse_config
from config_schemas.stack_files import load_stack_file, raw_stack_config, stack_names
from planning.plan import ClusterPlan, HostPlan, make_plan
from rendering import cloud_init, cni, gateway, host_network, kubeadm, layout
from rendering.files import HEREDOC_END, RenderedFile, install_script
from tests.helpers.configs import Generated, cluster_configs

STACKS = stack_names()
PLANS = {stack: make_plan(load_stack_file(stack).cluster) for stack in STACKS}
DEV = PLANS["dev"]


def plan_with(stack: str, **gateway_changes: Any) -> ClusterPlan:
    """A stack's plan with some gateway settings changed (e.g. the other DNS64 engine)."""
    raw = copy.deepcopy(raw_stack_config(stack))
    for dotted, value in gateway_changes.items():
        section, name = dotted.split("__")
        raw["gateway"].setdefault(section, {})[name] = value
    return make_plan(parse_config(raw).cluster)


def run_sh(script: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    path = cwd / "script.sh"
    path.write_text(script)
    done = subprocess.run(
        ["sh", str(path), *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def plan_routes(host: HostPlan) -> Counter[tuple[IPNetwork, IPAddress]]:
    return Counter((r.destination, r.via) for r in host.routes)


# --- routes.sh ----------------------------------------------------------------------------


def route_table(text: str) -> list[str]:
    """The lines of the script's one route table (the heredoc `up`, `down` and `show` read)."""
    match = re.search(r"^routes\(\) \{\n  cat <<'(\w+)'\n(.*?)^\1$", text, re.M | re.S)
    assert match, text
    return match.group(2).splitlines()


def show_section(text: str) -> list[str]:
    """What `show` prints, read off the table: each line's `<destination> via <next hop>`."""
    shown = []
    for line in route_table(text):
        destination, via_word, via, *label = line.split()
        assert via_word == "via" and label[:1] == ["#"], line
        shown.append(f"{destination} via {via}")
    return shown


def parse_show(lines: list[str]) -> Counter[tuple[IPNetwork, IPAddress]]:
    routes: Counter[tuple[IPNetwork, IPAddress]] = Counter()
    for line in lines:
        destination, via_word, via = line.split()
        assert via_word == "via"
        routes[IPNetwork(destination), IPAddress(via)] += 1
    return routes


def check_routes_text(plan: ClusterPlan) -> None:
    for host in plan.hosts:
        text = host_network.routes_script(host, plan.cluster_interface).content
        assert parse_show(show_section(text)) == plan_routes(host), host.name


@pytest.mark.parametrize("stack", STACKS)
def test_routes_script_show_lists_exactly_the_plans_routes(stack: str) -> None:
    check_routes_text(PLANS[stack])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_configs(max_nodes=30))
def test_routes_script_show_lists_exactly_the_plans_routes_for_any_config(gen: Generated) -> None:
    check_routes_text(make_plan(parse_config(gen.raw).cluster))


@pytest.mark.parametrize("stack", STACKS)
def test_routes_script_runs_what_it_shows(stack: str, tmp_path: Path) -> None:
    """Run `up`, `down` and `show` with a fake `ip` that logs its arguments."""
    plan = PLANS[stack]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_ip = bin_dir / "ip"
    fake_ip.write_text('#!/bin/sh\necho "$*" >> "$IP_LOG"\n')
    fake_ip.chmod(0o755)
    for host in plan.hosts:
        script = host_network.routes_script(host, plan.cluster_interface)
        assert script.mode == "0755"
        log = tmp_path / f"{host.name}.log"
        env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "IP_LOG": str(log), "KUBEV6_DEV": "kv6test0"}
        expected = plan_routes(host)

        assert parse_show(run_sh(script.content, "show", cwd=tmp_path, env=env).splitlines()) == expected

        run_sh(script.content, "up", cwd=tmp_path, env=env)
        replaced: Counter[tuple[IPNetwork, IPAddress]] = Counter()
        for line in log.read_text().splitlines() if log.exists() else []:
            if line == f"-6 route show dev kv6test0 proto {host_network.ROUTES_PROTO}":
                continue  # the pruning of routes the table no longer has (none here)
            m = re.fullmatch(
                rf"-6 route replace (\S+) via (\S+) dev kv6test0 metric 1024 proto {host_network.ROUTES_PROTO}", line
            )
            assert m, line
            replaced[IPNetwork(m[1]), IPAddress(m[2])] += 1
        assert replaced == expected, host.name

        log.unlink(missing_ok=True)
        run_sh(script.content, "down", cwd=tmp_path, env=env)
        deleted: Counter[tuple[IPNetwork, IPAddress]] = Counter()
        for line in log.read_text().splitlines() if log.exists() else []:
            m = re.fullmatch(r"-6 route del (\S+) via (\S+) dev kv6test0", line)
            assert m, line
            deleted[IPNetwork(m[1]), IPAddress(m[2])] += 1
        assert deleted == expected, host.name


def test_routes_up_drops_the_routes_of_a_removed_node_and_keeps_the_rest(tmp_path: Path) -> None:
    """Scale in: a node's table lost the removed minion's pod /64; `up` deletes the kernel's route
    to it (marked with routes.sh's protocol), keeps the table's own (also `default`, as `ip`
    prints ::/0) and never touches a route of another protocol."""
    plan = PLANS["lab-k8s"]
    host = plan.master
    table = {str(r.destination): str(r.via) for r in host.routes}
    kernel = [f"{'default' if d == '::/0' else d} via {v} metric 1024 proto 76 pref medium" for d, v in table.items()]
    kernel.append("fd6b:7638:177::/64 via fd6b:7638::177 metric 1024 proto 76 pref medium")  # removed node
    kernel.append("fd6b:7638:178::/64 via fd6b:7638::178 metric 1024 proto static pref medium")  # not ours
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kernel").write_text("\n".join(line for line in kernel if "proto 76" in line) + "\n")
    fake_ip = bin_dir / "ip"
    fake_ip.write_text('#!/bin/sh\necho "$*" >> "$IP_LOG"\ncase "$*" in *"route show"*) cat "$KERNEL";; esac\n')
    fake_ip.chmod(0o755)
    log = tmp_path / "ip.log"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "IP_LOG": str(log), "KUBEV6_DEV": "kv6test0",
           "KERNEL": str(bin_dir / "kernel")}  # fmt: skip
    run_sh(host_network.routes_script(host, plan.cluster_interface).content, "up", cwd=tmp_path, env=env)
    deleted = [line for line in log.read_text().splitlines() if " route del " in f" {line}"]
    assert deleted == [f"-6 route del fd6b:7638:177::/64 dev kv6test0 proto {host_network.ROUTES_PROTO}"]


# --- CNI -----------------------------------------------------------------------------------


def check_conflists(plan: ClusterPlan) -> None:
    for node in plan.nodes:
        rendered = cni.conflist_file(node)
        doc = json.loads(rendered.content)
        plugins = doc["plugins"]
        bridges = [p for p in plugins if p["type"] == "bridge"]
        assert len(bridges) == 1
        bridge = bridges[0]
        assert bridge["ipMasq"] is False  # pods are routed with their own addresses
        [[ipam_range]] = bridge["ipam"]["ranges"]
        assert IPNetwork(ipam_range["subnet"]) == node.pod_subnet
        assert IPAddress(ipam_range["gateway"]) in node.pod_subnet
        assert any(p["type"] == "portmap" for p in plugins)
        assert all(p["type"] in cni.PLUGINS for p in plugins)


@pytest.mark.parametrize("stack", STACKS)
def test_cni_conflist(stack: str) -> None:
    check_conflists(PLANS[stack])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_configs(max_nodes=30))
def test_cni_conflist_for_any_config(gen: Generated) -> None:
    check_conflists(make_plan(parse_config(gen.raw).cluster))


def test_dev_conflists_are_the_seeds_subnets() -> None:
    subnets = {n.name: json.loads(cni.conflist_file(n).content) for n in DEV.nodes}
    ranges = {name: doc["plugins"][0]["ipam"]["ranges"][0][0] for name, doc in subnets.items()}
    assert ranges["kube-minion-1"] == {"subnet": "fd00:101::/64", "gateway": "fd00:101::1"}
    assert ranges["kube-minion-2"] == {"subnet": "fd00:102::/64", "gateway": "fd00:102::1"}


# --- DNS64: Unbound ------------------------------------------------------------------------


def unbound_server_options(text: str) -> list[tuple[str, str]]:
    options = []
    section = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            section = line.strip()
            continue
        if section == "server:":
            name, _, value = line.strip().partition(":")
            options.append((name, value.strip().strip('"')))
    return options


def unbound_allows(access_control: list[tuple[str, str]], address: str) -> bool:
    """Unbound's rule: the most specific matching netblock decides."""
    ip = ipaddress.ip_address(address)
    best: tuple[int, str] | None = None
    for block, action in access_control:
        net = ipaddress.ip_network(block)
        if net.version == ip.version and ip in net and (best is None or net.prefixlen > best[0]):
            best = (net.prefixlen, action)
    assert best is not None, address
    return best[1] == "allow"


def access_control(plan: ClusterPlan) -> list[tuple[str, str]]:
    options = unbound_server_options(gateway.unbound_conf(plan.dns64).content)
    rules = [value.split() for name, value in options if name == "access-control"]
    assert all(len(r) == 2 for r in rules)
    return [(r[0], r[1]) for r in rules]


def unbound_plans() -> list[ClusterPlan]:
    plans = [p for p in PLANS.values() if p.dns64.engine == "unbound"]
    return plans or [plan_with("dev", dns64__engine="unbound")]


@pytest.mark.parametrize("plan", unbound_plans(), ids=lambda p: p.node_prefix)
def test_unbound_dns64_prefix_is_the_nat64_prefix(plan: ClusterPlan) -> None:
    options = unbound_server_options(gateway.unbound_conf(plan.dns64).content)
    assert [v for n, v in options if n == "dns64-prefix"] == [str(plan.nat64_prefix)]
    assert "dns64" in dict(options)["module-config"].split()
    interfaces = {v for n, v in options if n == "interface"}
    assert str(plan.gateway.address) in interfaces


@pytest.mark.parametrize("plan", unbound_plans(), ids=lambda p: p.node_prefix)
def test_unbound_answers_only_the_cluster(plan: ClusterPlan) -> None:
    rules = access_control(plan)
    inside = ["::1", *(str(h.address) for h in plan.hosts)]
    inside += [str(n.pod_subnet[0x1234]) for n in plan.nodes if n.pod_subnet is not None]
    inside += [str(plan.node_prefix[-2]), str(plan.pod_supernet[-1]), str(plan.pod_supernet[0])]
    outside = [
        str(IPAddress(plan.node_prefix.last + 1, 6)),
        str(IPAddress(plan.pod_supernet.first - 1, 6)),
        str(IPAddress(plan.pod_supernet.last + 1, 6)),
        str(plan.service_subnet[10]),
        str(plan.nat64_prefix[0x0A000001]),
        "2001:db8::1",
        "fe80::1",
        "::",
        "::ffff:198.51.100.7",
        "10.0.0.1",
        "198.51.100.7",
        "0.0.0.0",
    ]
    for address in inside:
        assert unbound_allows(rules, address), address
    for address in outside:
        assert not unbound_allows(rules, address), address


@settings(max_examples=300, deadline=None)
@given(plan=st.sampled_from(unbound_plans()), data=st.data())
def test_unbound_refuses_any_address_outside_the_cluster_prefixes(plan: ClusterPlan, data: st.DataObject) -> None:
    edges = [plan.node_prefix.first, plan.node_prefix.last, plan.pod_supernet.first, plan.pod_supernet.last, 1]
    near_an_edge = st.tuples(st.sampled_from(edges), st.integers(-(2**66), 2**66)).map(lambda t: t[0] + t[1])
    address = data.draw(st.one_of(st.integers(0, 2**128 - 1), near_an_edge).filter(lambda a: 0 <= a < 2**128))
    ip = IPAddress(address, 6)
    cluster = ip in plan.node_prefix or ip in plan.pod_supernet or ip == IPAddress("::1")
    assert unbound_allows(access_control(plan), str(ip)) == cluster


@pytest.mark.parametrize("plan", unbound_plans(), ids=lambda p: p.node_prefix)
def test_unbound_checkconf_accepts_it_on_a_fresh_boot(plan: ClusterPlan, tmp_path: Path) -> None:
    """The DNS64 unit's start check, run as rendered (config text untouched, pidfile included)
    in an empty /run holding only what systemd creates for the unit: a fresh boot."""
    if shutil.which("unbound-checkconf") is None:
        pytest.skip("unbound-checkconf is not installed")
    unit = systemd_unit(gateway.dns64_unit(plan.dns64.engine).content)
    conf = tmp_path / "unbound.conf"
    conf.write_text(gateway.unbound_conf(plan.dns64).content)
    [check] = unit["ExecStartPre"]
    argv = [str(conf) if arg == layout.UNBOUND_CONF_PATH else arg for arg in shlex.split(check)]
    done = run_on_fresh_boot(unit, argv)
    assert done.returncode == 0, done.stdout + done.stderr


# --- systemd units of the gateway -----------------------------------------------------------


def systemd_unit(text: str) -> dict[str, list[str]]:
    """A unit file's [Service] settings (each key's values in order)."""
    service: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line:
            name, value = line.split("=", 1)
            service.setdefault(name, []).append(value)
    return service


def runtime_dirs(unit: dict[str, list[str]]) -> set[str]:
    """What systemd creates under /run before the unit's first Exec line (RuntimeDirectory=)."""
    return {f"/run/{d}" for value in unit.get("RuntimeDirectory", []) for d in value.split()}


def run_on_fresh_boot(unit: dict[str, list[str]], argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `argv` in a private mount namespace whose /run is empty except for the unit's
    RuntimeDirectory= entries (nothing else creates anything there on a fresh boot)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare (a private /run in a mount namespace)")
    dirs = " ".join(shlex.quote(d) for d in sorted(runtime_dirs(unit)))
    script = f'mount -t tmpfs kv6-fresh-run /run && mkdir -p /run {dirs} && exec "$@"'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv],
        capture_output=True,
        text=True,
    )


def gateway_plans() -> list[ClusterPlan]:
    """Every stack, with each DNS64 engine."""
    return [*PLANS.values(), *(plan_with(s, dns64__engine=e) for s in ("dev", "lab") for e in ("unbound", "bind9"))]


def dns64_pid_dir(plan: ClusterPlan) -> str:
    text = gateway.dns64_conf(plan.dns64).content
    match = re.search(r'^\s*(?:pidfile:|pid-file) "([^"]+)"', text, re.M)
    assert match, text
    return match[1].rsplit("/", 1)[0]


@pytest.mark.parametrize("plan", gateway_plans(), ids=lambda p: f"{p.node_prefix}")
def test_dns64_unit_creates_the_directory_of_its_pidfile(plan: ClusterPlan) -> None:
    """Under systemd only the unit itself can create it: dns64.sh (which mkdirs it) is not used there."""
    unit = systemd_unit(gateway.dns64_unit(plan.dns64.engine).content)
    assert dns64_pid_dir(plan) in runtime_dirs(unit)


@pytest.mark.parametrize("plan", gateway_plans(), ids=lambda p: f"{p.node_prefix}")
def test_units_sharing_the_run_dir_keep_it_when_stopped(plan: ClusterPlan) -> None:
    """systemd removes a RuntimeDirectory= when its unit stops; the NAT64 and DNS64 units share
    /run/kubev6 (TAYGA's pidfile is there), so each must preserve it."""
    units = [systemd_unit(gateway.dns64_unit(plan.dns64.engine).content), systemd_unit(gateway.nat64_unit().content)]
    for unit in units:
        if layout.RUN_DIR in runtime_dirs(unit):
            assert unit.get("RuntimeDirectoryPreserve") == ["yes"], unit


# --- DNS64: BIND9 --------------------------------------------------------------------------


def bind_plans() -> list[ClusterPlan]:
    plans = [p for p in PLANS.values() if p.dns64.engine == "bind9"]
    return [*plans, plan_with("dev", dns64__engine="bind9")]


def named_list(text: str, clause: str) -> set[str]:
    match = re.search(rf"^\s*{clause} \{{ ([^}}]*); \}};$", text, re.M)
    assert match, clause
    return {item.strip() for item in match[1].split(";")}


@pytest.mark.parametrize("plan", bind_plans(), ids=lambda p: p.node_prefix)
def test_bind_dns64_clause(plan: ClusterPlan) -> None:
    text = gateway.named_conf(plan.dns64).content
    clauses = re.findall(r"^\s*dns64 (\S+) \{\n\s*clients \{ ([^}]*); \};\n\s*\};", text, re.M)
    assert len(clauses) == 1, text
    prefix, clients = clauses[0]
    assert IPNetwork(prefix) == plan.nat64_prefix
    cluster = {"::1", str(plan.node_prefix), str(plan.pod_supernet)}
    assert {c.strip() for c in clients.split(";")} == cluster
    assert named_list(text, "allow-query") == cluster
    assert named_list(text, "allow-recursion") == cluster
    assert "any" not in text
    assert named_list(text, "forwarders") == {str(u) for u in plan.dns64.upstream}
    assert str(plan.gateway.address) in named_list(text, "listen-on-v6")


@pytest.mark.parametrize("plan", bind_plans(), ids=lambda p: p.node_prefix)
def test_named_checkconf_accepts_it(plan: ClusterPlan, tmp_path: Path) -> None:
    if shutil.which("named-checkconf") is None:
        pytest.skip("named-checkconf is not installed")
    conf = tmp_path / "named.conf"
    conf.write_text(gateway.named_conf(plan.dns64).content)
    done = subprocess.run(["named-checkconf", str(conf)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dns64_conf_follows_the_engine() -> None:
    assert gateway.dns64_conf(plan_with("dev", dns64__engine="bind9").dns64).path == layout.NAMED_CONF_PATH
    assert gateway.dns64_conf(plan_with("dev", dns64__engine="unbound").dns64).path == layout.UNBOUND_CONF_PATH


# --- NAT64: guard and TAYGA ----------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_nft_guard_names_the_cluster_prefixes(stack: str) -> None:
    plan = PLANS[stack]
    text = gateway.guard_ruleset(plan.nat64).content
    [elements] = re.findall(r"elements = \{ ([^}]*) \}", text)
    assert {IPNetwork(e.strip()) for e in elements.split(",")} == {plan.node_prefix, plan.pod_supernet}
    [rule] = [line.strip() for line in text.splitlines() if " drop" in line]
    assert rule.startswith(f"ip6 daddr {plan.nat64_prefix} ip6 saddr != @cluster6 ")
    has_nat44 = f"table ip {gateway.NFT_NAT44_TABLE} {{" in text
    assert has_nat44 == (plan.nat64.engine == "tayga")


@pytest.mark.parametrize("stack", STACKS)
def test_nft_accepts_the_guard(stack: str, tmp_path: Path) -> None:
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed")
    ruleset = tmp_path / "guard.nft"
    ruleset.write_text(gateway.guard_ruleset(PLANS[stack].nat64).content)
    done = subprocess.run(["nft", "-c", "-f", str(ruleset)], capture_output=True, text=True)
    if done.returncode != 0 and "Operation not permitted" in done.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN here")
    assert done.returncode == 0, done.stderr


def tayga_plans() -> list[ClusterPlan]:
    plans = [p for p in PLANS.values() if p.nat64.engine == "tayga"]
    return [*plans, plan_with("dev", nat64__engine="tayga")]  # dev: the well-known prefix


@pytest.mark.parametrize("plan", tayga_plans(), ids=lambda p: p.node_prefix)
def test_tayga_conf(plan: ClusterPlan) -> None:
    conf: dict[str, list[str]] = {}
    for line in gateway.tayga_conf(plan.nat64).content.splitlines():
        if line and not line.startswith("#"):
            name, value = line.split(None, 1)
            conf.setdefault(name, []).append(value)
    assert conf["prefix"] == [str(plan.nat64_prefix)]
    pool = plan.nat64.ipv4_pool
    assert conf["dynamic-pool"] == [str(pool)]
    assert IPAddress(conf["ipv4-addr"][0]) in pool
    if plan.nat64_prefix == IPNetwork("64:ff9b::/96"):
        # TAYGA needs its own IPv6 address then: one of the node network that no host uses.
        [own] = conf["ipv6-addr"]
        assert IPAddress(own) in plan.node_prefix
        assert IPAddress(own) not in {h.address for h in plan.hosts}


# --- cloud-init ----------------------------------------------------------------------------

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKv6kv6kv6kv6kv6kv6kv6kv6kv6kv6kv6kv6kv6kv6 kube-v6"
SSH_USERS = ["root", "debian", "kube-admin"]


def empty_lists(value: Any, where: str = "") -> list[str]:
    """cloud-init's schema gives every list it knows minItems 1."""
    if isinstance(value, list):
        found = [where or "(top)"] if not value else []
        return found + [p for i, v in enumerate(value) for p in empty_lists(v, f"{where}[{i}]")]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in empty_lists(v, f"{where}.{k}" if where else str(k))]
    return []


@pytest.mark.parametrize("user", SSH_USERS)
def test_cloud_init_user_data_gives_the_key_to_the_ssh_user(user: str) -> None:
    text = cloud_init.user_data(DEV.master, PUBLIC_KEY, user)
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    assert empty_lists(doc) == []
    if user == "root":
        assert doc["ssh_authorized_keys"] == [PUBLIC_KEY]
        assert doc["disable_root"] is False
    else:
        [entry] = doc["users"]
        assert entry["name"] == user
        assert entry["ssh_authorized_keys"] == [PUBLIC_KEY]
        assert "ssh_authorized_keys" not in doc  # the default user gets no key
        assert doc["disable_root"] is True


@pytest.mark.parametrize("user", SSH_USERS)
def test_cloud_init_schema_accepts_the_user_data(user: str, tmp_path: Path) -> None:
    if shutil.which("cloud-init") is None:
        pytest.skip("cloud-init is not installed")
    # Machines and stacks differ only by the host name here.
    path = tmp_path / "user-data"
    path.write_text(cloud_init.user_data(DEV.master, PUBLIC_KEY, user))
    done = subprocess.run(["cloud-init", "schema", "-c", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- kubeadm -------------------------------------------------------------------------------

TOKEN = "abcdef.0123456789abcdef"
CA_HASH = "sha256:" + "0" * 64


@pytest.mark.parametrize("stack", STACKS)
def test_kubeadm_init_yaml(stack: str) -> None:
    plan = PLANS[stack]
    rendered = kubeadm.init_file(plan.kubeadm, plan.master, TOKEN)
    docs = list(yaml.safe_load_all(rendered.content))
    by_kind = {d["kind"]: d for d in docs}
    assert len(by_kind) == len(docs)
    assert {"InitConfiguration", "ClusterConfiguration"} <= set(by_kind)
    cluster = by_kind["ClusterConfiguration"]
    single = plan.api_lb is None  # else HAProxy's address on the gateway (lab-k8s-ha)
    endpoint = f"[{plan.master.address}]:6443" if single else plan.api_lb.endpoint  # type: ignore[union-attr]
    assert cluster["controlPlaneEndpoint"] == plan.api_endpoint == endpoint
    assert cluster["networking"]["serviceSubnet"] == str(plan.service_subnet)
    assert by_kind["InitConfiguration"]["localAPIEndpoint"]["advertiseAddress"] == str(plan.master.address)
    if "KubeletConfiguration" in by_kind:
        assert by_kind["KubeletConfiguration"]["clusterDNS"] == [str(plan.dns_service_ip)]
    # The bracketed endpoint is quoted in the text (kubeadm#3101), not left to YAML's plain scalars.
    quoted = re.escape(plan.api_endpoint)
    assert re.search(rf"^\s*controlPlaneEndpoint: (['\"]){quoted}\1$", rendered.content, re.M), rendered.content
    assert rendered.mode == "0600"  # it holds the bootstrap token


@pytest.mark.parametrize("stack", STACKS)
def test_kubeadm_join_yaml(stack: str) -> None:
    plan = PLANS[stack]
    for node in plan.minions:
        rendered = kubeadm.join_file(plan.kubeadm, node, TOKEN, CA_HASH)
        [doc] = list(yaml.safe_load_all(rendered.content))
        assert doc["kind"] == "JoinConfiguration"
        assert doc["discovery"]["bootstrapToken"]["apiServerEndpoint"] == plan.api_endpoint
        assert doc["nodeRegistration"]["name"] == node.name
        quoted = re.escape(plan.api_endpoint)
        assert re.search(rf"^\s*apiServerEndpoint: (['\"]){quoted}\1$", rendered.content, re.M), rendered.content


# --- install_script --------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=200)
_content = st.one_of(
    _text,
    st.lists(st.sampled_from(["", "x", "$HOME", "`id`", "'q'", '"', "\\", "EOF", f"{HEREDOC_END} ", "\t"]), max_size=6)
    .map("\n".join)
    .flatmap(lambda s: st.sampled_from([s, s + "\n", s + "\n\n"])),
).filter(lambda c: f"\n{HEREDOC_END}\n" not in f"\n{c}\n")
_name = st.text("abcxyz-_. 0123456789", min_size=1, max_size=8).filter(lambda n: n not in (".", ".."))


def _mode(file: Path) -> str:
    return f"{stat.S_IMODE(file.stat().st_mode):04o}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(
        st.tuples(st.lists(_name, min_size=1, max_size=3), _content, st.sampled_from(["0644", "0600", "0755", "0640"])),
        min_size=1,
        max_size=4,
    )
)
def test_install_script_round_trips_through_sh(files: list[tuple[list[str], str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rendered = [RenderedFile(str(root.joinpath(*parts)), c, m) for parts, c, m in files]
        paths = [Path(f.path) for f in rendered]
        if len(set(paths)) < len(paths) or any(a in b.parents for a in paths for b in paths):
            return  # the same path twice, or one file's path is another's directory
        script = install_script(rendered, then=[f"echo done > {root}/then"])
        for _ in range(2):  # and again: re-running it changes nothing
            run_sh(script, cwd=root)
            for f in rendered:
                path = Path(f.path)
                assert path.read_bytes() == f.content.encode(), f.path
                assert _mode(path) == f.mode, f.path
            assert (root / "then").read_text() == "done\n"


def test_install_script_writes_the_rendered_files_of_a_plan(tmp_path: Path) -> None:
    host = DEV.host("kube-minion-1")
    real = [
        host_network.routes_script(host, DEV.cluster_interface),
        host_network.sysctl_file(host),
        host_network.hosts_file(DEV.known_hosts(host)),
        cni.conflist_file(host),
        gateway.unbound_conf(DEV.dns64),
        kubeadm.join_file(DEV.kubeadm, host, TOKEN, CA_HASH),
    ]
    moved = [RenderedFile(f"{tmp_path}{f.path}", f.content, f.mode) for f in real]
    run_sh(install_script(moved), cwd=tmp_path)
    for f in moved:
        assert Path(f.path).read_text() == f.content
        assert _mode(Path(f.path)) == f.mode


@pytest.mark.parametrize(
    "content",
    [HEREDOC_END, f"{HEREDOC_END}\n", f"a\n{HEREDOC_END}", f"a\n{HEREDOC_END}\nb\n", f"\n\n{HEREDOC_END}\n\n"],
)
def test_content_with_the_heredoc_terminator_is_refused(content: str) -> None:
    with pytest.raises(ValueError, match="heredoc terminator"):
        RenderedFile("/etc/kubev6/x", content)


def test_terminator_lookalikes_are_fine(tmp_path: Path) -> None:
    content = f" {HEREDOC_END}\n{HEREDOC_END} \n{HEREDOC_END}x\n'{HEREDOC_END}'\n"
    f = RenderedFile(f"{tmp_path}/x", content)
    run_sh(install_script([f]), cwd=tmp_path)
    assert Path(f.path).read_text() == content


def test_relative_paths_are_refused() -> None:
    with pytest.raises(ValueError, match="absolute"):
        RenderedFile("etc/kubev6/x", "x\n")


@pytest.mark.parametrize("stack", ["lab", "lab-bind"])
def test_dns64_unit_creates_its_runtime_directory_and_keeps_it(stack: str) -> None:
    """Found by the VM lab: on a fresh boot /run/kubev6 does not exist and unbound-checkconf (the unit's
    ExecStartPre) refuses a pidfile whose folder is missing; TAYGA's pid lives there too."""
    unit = gateway.dns64_unit(PLANS[stack].dns64.engine).content
    assert "\nRuntimeDirectory=kubev6\n" in unit
    assert "\nRuntimeDirectoryPreserve=yes\n" in unit
    assert layout.RUN_DIR == "/run/kubev6"
