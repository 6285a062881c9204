"""An sshd per lab host, so the Pulumi engine reaches each namespace "machine" as an existing host.

Each sshd is started through the host's own `HostExec`, so its sessions see that host's `/etc`
and private directories, listens only on the host's planned address, and accepts one key pair
made for this lab (kept in the lab's state dir, removed with it). Nothing of the machine's own
ssh set-up (`/etc/ssh`, `/root/.ssh`) is read or changed.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from harness.commons.shell import HostExec
from harness.netlab.internet import wait_listening
from harness.netlab.state import LabState, ensure_mountpoint
from planning.plan import ClusterPlan, HostPlan

SSHD = "/usr/sbin/sshd"
PORT = 22


@dataclass(frozen=True)
class LabKey:
    private_key: str  # OpenSSH PEM text: a secret for the stack config
    public_key: str


def make_key(state: LabState) -> LabKey:
    d = state.path("ssh")
    d.mkdir(mode=0o700, exist_ok=True)
    for name in ("id", "host"):
        if not (d / name).exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"kube-v6 lab {name}", "-f", str(d / name)],
                check=True,
            )
    public = (d / "id.pub").read_text().strip()
    (d / "authorized_keys").write_text(public + "\n")
    return LabKey((d / "id").read_text(), public)


def sshd_config(state: LabState, address: str, host_name: str) -> str:
    d = state.path("ssh")
    return "\n".join(
        [
            f"# kube-v6 lab: {host_name}",
            f"ListenAddress [{address}]:{PORT}",
            f"HostKey {d / 'host'}",
            f"AuthorizedKeysFile {d / 'authorized_keys'}",
            f"PidFile {d / (host_name + '.pid')}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            # The key files live in the lab's state dir under /run, not in a home directory.
            "StrictModes no",
            # pulumi-command passes PULUMI_COMMAND_STDOUT/STDERR to delete commands.
            "AcceptEnv PULUMI_COMMAND_*",
            "Subsystem sftp internal-sftp",
            "",
        ]
    )


def start_sshd(host: HostPlan, exec_: HostExec, state: LabState) -> None:
    """The host's sshd on its node address (its pid recorded: the lab's teardown stops it)."""
    conf = state.path("ssh", f"sshd-{host.name}.conf")
    conf.write_text(sshd_config(state, str(host.address), host.name))
    pid = exec_.popen([SSHD, "-D", "-e", "-f", str(conf)], state.log_path(f"sshd-{host.name}"))
    state.record_pid(f"sshd-{host.name}", pid)


def start_sshds(plan: ClusterPlan, execs: dict[str, HostExec], state: LabState) -> LabKey:
    """Start one sshd per host; wait until each listens."""
    key = make_key(state)
    ensure_mountpoint("/run/sshd")  # sshd's privilege separation directory
    for host in plan.hosts:
        start_sshd(host, execs[host.name], state)
    for host in plan.hosts:
        wait_listening(execs[host.name], "tcp", host.address, PORT, 10)
    return key
