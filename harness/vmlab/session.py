"""The VM lab: `pulumi up` of the `vmlab` stack makes real VMs on this machine's libvirt, then checks.

    lab = VmLab(); lab.up(); results = lab.check(); lab.down()

`up`: the base image (cached), libvirtd (started if nothing answers; recorded), the stack's SSH key
(generated once, in the stack config as a secret), `pulumi up` (watched: when each guest first
answers SSH), the test server and the stranger. `check`: the checks, a reboot of a minion and of the
gateway, and a second `pulumi up` that must change nothing. `down`: `pulumi destroy`, then proof that
libvirt holds nothing of the stack and its pool folder is gone, then everything this lab started is
stopped. `up`, `check` and `down` may run in different processes: what they need is in
`.state/vmlab/` (ignored).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config_schemas.stack_files import load_stack_file
from harness.commons import libvirtd
from harness.commons.checks import CheckResult
from harness.commons.engine import OpResult, StackRun, engine_env
from harness.commons.engine.toolchain import ROOT
from harness.vmlab import checks, image
from harness.vmlab.figures import UpFigures, up_figures
from harness.vmlab.guest import Guest, port_open
from harness.vmlab.hostside import State, Stranger, TestServer
from planning.plan import ClusterPlan, make_plan

STACK = "vmlab"
STATE_DIR = ROOT / ".state" / "vmlab"
LIBVIRT_QEMU_LOGS = Path("/var/log/libvirt/qemu")


class VmLab:
    def __init__(self, stack: str = STACK, log: Callable[[str], None] = print, state_dir: Path = STATE_DIR) -> None:
        self.stack = stack
        self.log = log
        self.state_dir = state_dir
        self.state = State(state_dir)
        self.plan: ClusterPlan = make_plan(load_stack_file(stack).cluster)
        platform = self.plan.libvirt
        assert platform is not None, f"{stack} is not a libvirt stack"
        self.platform = platform
        self.uri = platform.uri
        self.test_server = TestServer(self.plan, self.state)
        self.stranger = Stranger(self.plan)
        self._run: StackRun | None = None
        self.timings: dict[str, float] = {}

    # --- pieces ---------------------------------------------------------------------------------

    @property
    def key_path(self) -> Path:
        return self.state_dir / "ssh" / "id"

    def guest(self, name: str) -> Guest:
        host = self.plan.host(name)
        return Guest(name, host.ssh_host, self.key_path, self.plan.ssh.user)

    def infra_names(self) -> dict[str, str]:
        """What LibvirtInfra names things in libvirt for this stack."""
        return {
            "pool": f"kubev6-{self.stack}",
            "cluster": f"kubev6-{self.stack}-cluster",
            "uplink": f"kubev6-{self.stack}-uplink",
            **{f"domain:{h.name}": f"{self.stack}-{h.name}" for h in self.plan.hosts},
        }

    def _key(self) -> tuple[str, str]:
        if not self.key_path.exists():
            self.key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kube-v6 vmlab", "-f", str(self.key_path)],
                check=True,
            )
        return self.key_path.read_text(), self.key_path.with_suffix(".pub").read_text().strip()

    def run(self) -> StackRun:
        """The stack in its work copy, configured with the lab's key (the private half a secret)."""
        if self._run is None:
            env = engine_env(self.state_dir)
            run = StackRun(self.stack, env, self.state_dir / "work")
            private, public = self._key()
            run.set_config("sshPrivateKey", private, secret=True)
            run.set_config("ssh.publicKey", public, path=True)
            self._run = run
        return self._run

    def ensure_image(self, force: bool = False) -> image.Image:
        steps: list[str] = []
        img, seconds, built = image.build(force=force, log=steps)
        self.timings["image build" if built else "image (cached)"] = seconds
        for s in steps:
            self.log(f"  {s}")
        self.log(f"image: {img.dir} ({'built' if built else 'cached'} in {seconds:.1f}s)")
        return img

    def ensure_libvirtd(self) -> None:
        if "kvm_device" not in self.state.load():
            previous = libvirtd.grant_kvm_to_qemu_group()
            if previous is not None:
                self.state.update(kvm_device=previous)
                self.log(
                    f"/dev/kvm: root:{libvirtd.QEMU_GROUP} 0660 as udev makes it (for libvirt's capability cache); "
                    "`down` restores it"
                )
        started = self.state.load().get("libvirtd", [])
        alive = [p for p in started if Path(f"/proc/{p}").exists()]
        if libvirtd.answers(self.uri):
            return
        pids = libvirtd.start(self.uri)
        self.state.update(libvirtd=alive + pids)
        self.log(f"libvirtd: started (pids {pids}); `down` stops it")

    # --- up / check / down ----------------------------------------------------------------------

    def up(self, force_image: bool = False) -> tuple[OpResult, UpFigures]:
        self.ensure_image(force_image)
        self.ensure_libvirtd()
        self.purge_stale()
        run = self.run()
        self.log(f"pulumi up --stack {self.stack} (engine log: {run.log_path})")
        watcher = SshWatcher({h.name: h.ssh_host for h in self.plan.hosts})
        watcher.start()
        self.state.update(deployed=True)
        try:
            result = run.up()
        finally:
            watcher.stop()
        figures = up_figures(self.plan, self.stack, result, watcher.first_seen, run.export())
        self.timings["pulumi up"] = result.seconds
        (self.state_dir / "up-figures.json").write_text(json.dumps(figures.as_dict(), indent=2) + "\n")
        self.log(f"pulumi up: {_changes(result)} in {result.seconds:.1f}s")
        self.log(figures.report())
        start = time.monotonic()
        self.test_server.start()
        self.stranger.start()
        self.timings["test server + stranger"] = time.monotonic() - start
        return result, figures

    def check(self, reboot: bool = True) -> list[CheckResult]:
        if not libvirtd.answers(self.uri):
            raise RuntimeError(f"no libvirt daemon answers at {self.uri}: run `python -m harness.vmlab up` first")
        self.test_server.start()
        self.stranger.start()
        results = [
            checks.cluster_network_is_ipv6_only(self),
            checks.no_global_ipv4_on_nodes(self),
            checks.units_active(self),
            checks.routes_and_sysctls(self),
            checks.dns64_nat64(self),
            checks.nat64_guard(self),
        ]
        for r in results:
            self.log(r.report())
        if reboot:
            minion = self.plan.minions[0].name if self.plan.minions else self.plan.master.name
            r = checks.reboot_survives(self, [minion, self.plan.gateway.name])
            self.log(r.report())
            results.append(r)
        again = self.up_again()
        results.append(again)
        self.log(again.report())
        return results

    def up_again(self) -> CheckResult:
        check = CheckResult("second_up_changes_nothing")
        result = self.run().up()
        self.timings["pulumi up (no changes)"] = result.seconds
        check.seconds = result.seconds
        check.summary = f"{_changes(result)} in {result.seconds:.1f}s"
        if result.changed:
            check.ok = False
            check.failures.append(checks.Failure(f"changed: {result.steps}", output=result.output[-3000:]))
        return check

    def down(self) -> list[str]:
        errors: list[str] = []
        errors += self.stranger.stop()
        errors += self.test_server.stop()
        started = self.state.load()
        if started.get("deployed"):
            if not libvirtd.answers(self.uri):
                self.ensure_libvirtd()
            run = self.run()
            start = time.monotonic()
            result = run.destroy()
            self.timings["pulumi destroy"] = time.monotonic() - start
            self.log(f"pulumi destroy: {_changes(result)} in {result.seconds:.1f}s")
            run.remove()
            self.state.update(deployed=None)
        self._keep_domain_logs()
        left = self.leftovers()
        for what in left:
            errors.append(f"left behind: {what}")
        if not left:
            self.log(
                "libvirt holds no domain, network, pool or volume of the stack; no pool folder, bridge or "
                "domain log (moved to .state/vmlab/logs)"
            )
        pids = self.state.load().get("libvirtd", [])
        if pids:
            libvirtd.stop(pids)
            self.state.update(libvirtd=None)
            self.log(f"libvirtd: stopped (pids {pids})")
        previous = self.state.load().get("kvm_device")
        if previous:
            libvirtd.restore_kvm(previous)
            self.state.update(kvm_device=None)
            self.log(f"/dev/kvm: restored to uid {previous['uid']} gid {previous['gid']} mode {previous['mode']:o}")
        return errors

    def _domain_logs(self) -> list[Path]:
        """QEMU's log per domain, which libvirt keeps after the domain is gone."""
        return [
            LIBVIRT_QEMU_LOGS / f"{name}.log" for key, name in self.infra_names().items() if key.startswith("domain:")
        ]

    def _keep_domain_logs(self) -> None:
        """Into the lab's state folder (the last run's, for a look), so nothing stays in /var/log."""
        logs = self.state_dir / "logs"
        for log in self._domain_logs():
            if log.exists():
                logs.mkdir(parents=True, exist_ok=True)
                shutil.move(log, logs / f"libvirt-{log.name}")

    def purge_stale(self) -> None:
        """Before an `up` of a lab that is not deployed: libvirt objects with this stack's names that
        no state holds (a domain whose start failed stays defined, and the next `up` could not define
        it again: "domain ... already exists"). `down` still reports such leftovers as errors."""
        if self.state.load().get("deployed"):
            return
        names = self.infra_names()
        inv = libvirtd.inventory(self.uri)
        undo = {
            "list": (["destroy"], ["undefine"]),
            "net-list": (["net-destroy"], ["net-undefine"]),
            "pool-list": (["pool-destroy"], ["pool-delete"], ["pool-undefine"]),
        }
        for kind, listed in inv.items():
            for name in (n for n in listed if n in names.values()):
                for verb in undo[kind]:
                    subprocess.run(["virsh", "-c", self.uri, *verb, name], capture_output=True, check=False, timeout=60)
                label = {"list": "domain", "net-list": "network", "pool-list": "pool"}[kind]
                self.log(f"stale cleanup: {label} {name} (no state held it)")

    def leftovers(self) -> list[str]:
        """Anything of the stack still in libvirt or on disk (libvirtd must answer for the first part)."""
        names = self.infra_names()
        left: list[str] = []
        if libvirtd.answers(self.uri):
            inv = libvirtd.inventory(self.uri)
            for kind, listed in inv.items():
                left += [f"{kind}: {n}" for n in listed if n in names.values()]
            vols = subprocess.run(
                ["virsh", "-c", self.uri, "vol-list", names["pool"]], capture_output=True, text=True, check=False
            )
            if vols.returncode == 0:
                left.append(f"pool {names['pool']} still answers vol-list:\n{vols.stdout}")
        pool_dir = Path(self.platform.pool_path)
        if pool_dir.exists():
            left.append(f"pool folder {pool_dir}: {sorted(p.name for p in pool_dir.iterdir())}")
        for bridge in (self.platform.cluster_bridge, self.platform.uplink_bridge):
            if Path(f"/sys/class/net/{bridge}").exists():
                left.append(f"bridge {bridge}")
        left += [f"file {log}" for log in self._domain_logs() if log.exists()]
        return left


class SshWatcher:
    """When each guest first accepts a TCP connection on port 22 (seconds since `start`)."""

    def __init__(self, addresses: dict[str, str], interval: float = 1.0) -> None:
        self.addresses = addresses
        self.interval = interval
        self.first_seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._start = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.is_set() and len(self.first_seen) < len(self.addresses):
            for name, addr in self.addresses.items():
                if name not in self.first_seen and port_open(addr, 22, timeout=0.5):
                    self.first_seen[name] = time.monotonic() - self._start
            self._stop.wait(self.interval)


def _changes(result: OpResult) -> str:
    return ", ".join(f"{n} {op}" for op, n in sorted(result.changes.items()))


def summary(results: list[CheckResult]) -> dict[str, Any]:
    return {r.name: {"ok": r.ok, "seconds": round(r.seconds, 1), "summary": r.summary} for r in results}
