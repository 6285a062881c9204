"""A minimal CNI runtime: executes a rendered conflist as the CNI spec 1.0 says.

- ADD: each plugin in order; its config is the plugin object with the network's `name` and
  `cniVersion` injected, `runtimeConfig` for the capabilities it declares (only if the caller
  passes arguments for them), and `prevResult` = the previous plugin's result. On failure the
  runtime runs DEL (spec: "the runtime should call DEL") and raises.
- DEL: each plugin in reverse order, with `prevResult` = the cached result of the ADD.
- CHECK: each plugin in order, with `prevResult` = the cached result.
- Environment: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH (and CNI_ARGS).
- Results are cached per (network, container, interface) like libcni's `/var/lib/cni/results`.

Plugins run inside the NODE's network namespace (the bridge plugin creates `cbr0` there)
through the node's `HostExec`.

host-local and its lease directory. host-local keeps leases in `dataDir`, by default
`/var/lib/cni/networks/<network name>`: one file per leased IP plus `last_reserved_ip.<range
index>` and a `lock`. `/var` is not per network namespace, so without care every lab node
would share one lease directory: lease files would not collide (different subnets) but
`last_reserved_ip.0` would be overwritten by every node (host-local then silently restarts
from the start of its range, because the recorded IP is outside it), the lock would
serialise all nodes, and a node would "see" other nodes' leases, unlike a real machine. The
rendered conflist must stay untouched (no injected `dataDir`), so instead each node's
commands run with a private `/var/lib/cni` bind-mounted from the lab state dir
(`lab.shell.HostExec.private_dirs`), inside the mount namespace `ip netns exec` creates.
That is exactly a machine's own `/var/lib/cni`, and the result cache lives there too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.commons.shell import CommandResult, HostExec

DEFAULT_PLUGIN_DIR = "/usr/lib/cni"
SPEC_VERSION = "1.0.0"
# containerd's loopback network for a pod's `lo` (a runtime config, not a rendered one).
LOOPBACK_CONFLIST: dict[str, Any] = {
    "cniVersion": SPEC_VERSION,
    "name": "cni-loopback",
    "plugins": [{"type": "loopback"}],
}


class CniError(RuntimeError):
    def __init__(self, command: str, plugin: str, result: CommandResult, error: Mapping[str, Any] | None) -> None:
        self.command = command
        self.plugin = plugin
        self.result = result
        self.error = dict(error or {})
        msg = self.error.get("msg", "no CNI error object on stdout")
        details = self.error.get("details", "")
        super().__init__(
            f"CNI {command} failed in plugin {plugin!r} (code {self.error.get('code', '?')}: {msg}"
            f"{'; ' + details if details else ''})\n{result.describe()}"
        )


@dataclass(frozen=True)
class Attachment:
    container_id: str
    netns: str  # path, e.g. /run/netns/kv6l-m1-p0
    ifname: str = "eth0"
    args: tuple[tuple[str, str], ...] = ()  # CNI_ARGS key=value pairs
    capability_args: Mapping[str, Any] | None = None  # e.g. {"portMappings": [...]}


@dataclass(frozen=True)
class CniRuntime:
    conflist: Mapping[str, Any]
    host: HostExec  # the node the plugins run on
    cache_dir: Path  # host-side path of the node's /var/lib/cni/results
    plugin_dir: str = DEFAULT_PLUGIN_DIR

    @property
    def name(self) -> str:
        return str(self.conflist["name"])

    @property
    def version(self) -> str:
        return str(self.conflist["cniVersion"])

    def plugins(self) -> list[dict[str, Any]]:
        plugins = self.conflist.get("plugins")
        if not isinstance(plugins, list) or not plugins:
            raise ValueError(f"conflist {self.name!r} has no plugins")
        return [dict(p) for p in plugins]

    def _plugin_config(self, plugin: Mapping[str, Any], att: Attachment, prev: Any) -> dict[str, Any]:
        conf = dict(plugin)
        conf["name"] = self.name
        conf["cniVersion"] = self.version
        caps = plugin.get("capabilities") or {}
        runtime = {k: v for k, v in (att.capability_args or {}).items() if caps.get(k)}
        if runtime:
            conf["runtimeConfig"] = runtime
        if prev is not None:
            conf["prevResult"] = prev
        return conf

    def _exec(self, command: str, plugin: Mapping[str, Any], att: Attachment, prev: Any) -> Any:
        kind = str(plugin["type"])
        if "/" in kind or not os.access(os.path.join(self.plugin_dir, kind), os.X_OK):
            raise FileNotFoundError(f"CNI plugin {kind!r} not found in {self.plugin_dir}")
        env = {
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": att.container_id,
            "CNI_NETNS": att.netns,
            "CNI_IFNAME": att.ifname,
            "CNI_PATH": self.plugin_dir,
        }
        if att.args:
            env["CNI_ARGS"] = ";".join(f"{k}={v}" for k, v in att.args)
        conf = self._plugin_config(plugin, att, prev)
        result = self.host.run(
            [os.path.join(self.plugin_dir, kind)], input=json.dumps(conf), env=env, check=False, timeout=30
        )
        if not result.ok:
            try:
                error = json.loads(result.stdout)
            except json.JSONDecodeError:
                error = None
            raise CniError(command, kind, result, error if isinstance(error, dict) else None)
        if command != "ADD":
            return None
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            raise CniError(command, kind, result, {"msg": f"result is not JSON: {exc}"}) from None

    def _cache_path(self, att: Attachment) -> Path:
        return self.cache_dir / f"{self.name}-{att.container_id}-{att.ifname}"

    def add(self, att: Attachment) -> dict[str, Any]:
        prev: Any = None
        try:
            for plugin in self.plugins():
                prev = self._exec("ADD", plugin, att, prev)
        except Exception:
            try:
                self.delete(att)
            except Exception as cleanup:  # the ADD error matters more
                print(f"cni: DEL after failed ADD also failed: {cleanup}")
            raise
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._cache_path(att).write_text(json.dumps({"config": self.conflist, "result": prev}))
        return dict(prev or {})

    def cached_result(self, att: Attachment) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self._cache_path(att).read_text())["result"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def check(self, att: Attachment) -> None:
        prev = self.cached_result(att)
        if prev is None:
            raise RuntimeError(f"CHECK: no cached ADD result for {att.container_id}")
        for plugin in self.plugins():
            self._exec("CHECK", plugin, att, prev)

    def delete(self, att: Attachment) -> None:
        prev = self.cached_result(att)
        errors = []
        for plugin in reversed(self.plugins()):
            try:
                self._exec("DEL", plugin, att, prev)
            except CniError as exc:
                errors.append(exc)
        self._cache_path(att).unlink(missing_ok=True)
        if errors:
            raise errors[0]


def result_ips(result: Mapping[str, Any]) -> list[str]:
    """The addresses (without prefix length) of a CNI 1.0 result, container interfaces first."""
    return [str(ip["address"]).split("/")[0] for ip in result.get("ips", [])]
