"""The VM lab's base image, built from Debian packages (no cloud image can be downloaded here).

    .venv/bin/python -m harness.vmlab image [--force]

debootstrap (minbase) of bookworm with a cloud kernel, systemd, openssh-server, cloud-init (NoCloud,
ifupdown renderer: the stack's network-config v2 becomes /etc/network/interfaces.d) and every
package the gateway and the nodes use (the VM stack has `stages.install: false`: the guests have no
internet, nothing runs apt-get). `mkfs.ext4 -d` turns the folder into a raw disk without loop
devices, `qemu-img convert` makes it qcow2; the kernel and initrd are kept next to it for direct
kernel boot.

Cached by content: the folder is named by a hash of the suite, the package list and this file, so
an unchanged recipe is not rebuilt, and a changed one gets a new folder. `LINK` (a symlink, what the
`vmlab` stack file names) points at the newest build.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("KUBEV6_IMAGE_CACHE", "/var/cache/kube-v6/images"))
# Downloaded packages (debootstrap --cache-dir): a rebuild does not fetch them again.
DEB_CACHE = CACHE.parent / "debs"
LINK = CACHE / "vmlab"  # the stack file's baseImage/kernel/initrd live under this name
SUITE = "bookworm"
SIZE = "2G"  # of the root file system; the VM's disk volume is larger (cloud-init grows the fs)

PACKAGES = (
    # boot and the init system
    "linux-image-cloud-amd64", "systemd-sysv", "udev", "kmod", "initramfs-tools",
    # first boot: NoCloud seed (an ISO on the cdrom), static addresses through ifupdown, SSH
    "cloud-init", "ifupdown", "openssh-server", "sudo", "netbase", "procps", "iproute2",
    # debootstrap does not resolve virtual packages: cloud-init's python3-cryptography needs this one
    "python3-cffi-backend",
    # the gateway: NAT64 (TAYGA; Jool would need DKMS), DNS64 (Unbound or BIND9), the guard
    "tayga", "unbound", "bind9", "nftables", "iptables",
    # the nodes: CNI plugins
    "containernetworking-plugins",
    # the checks
    "curl", "bind9-dnsutils", "iputils-ping",
)  # fmt: skip

# Daemons Debian enables on install that the project runs as its own units (kubev6-dns64 holds
# port 53) or not at all.
DISABLED_UNITS = (
    "unbound.service", "unbound-resolvconf.service", "named.service", "tayga.service",
    # a boot-time e2fsck scrub of LVM snapshots (there are none): tens of seconds under emulation
    "e2scrub_reap.service",
)  # fmt: skip

CLOUD_CFG = """\
# kube-v6 VM lab: the NoCloud seed only, network config v2 rendered for ifupdown, and only the
# modules a machine of the lab needs (under software emulation every module costs seconds; Debian's
# `locale` module fails without the locales package).
datasource_list: [ NoCloud, None ]
system_info:
  network:
    renderers: [ eni ]
ssh_genkeytypes: [ ed25519 ]
cloud_init_modules: [ seed_random, bootcmd, write-files, growpart, resizefs, set_hostname, update_hostname,
                      update_etc_hosts, users-groups, ssh ]
cloud_config_modules: [ set-passwords, runcmd ]
cloud_final_modules: [ scripts-per-once, scripts-per-boot, scripts-per-instance, scripts-user, final-message ]
"""

INTERFACES = """\
# kube-v6 VM lab: cloud-init writes the machine's interfaces into interfaces.d
auto lo
iface lo inet loopback

source /etc/network/interfaces.d/*
"""

FSTAB = "LABEL=kv6root / ext4 defaults,errors=remount-ro 0 1\n"
KERNEL_CMDLINE = "root=LABEL=kv6root ro console=ttyS0 net.ifnames=0"


@dataclass(frozen=True)
class Image:
    dir: Path

    @property
    def disk(self) -> Path:
        return self.dir / "disk.qcow2"

    @property
    def kernel(self) -> Path:
        return self.dir / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.dir / "initrd.img"

    @property
    def manifest(self) -> Path:
        return self.dir / "manifest.json"

    def complete(self) -> bool:
        return all(p.is_file() for p in (self.disk, self.kernel, self.initrd, self.manifest))


def recipe_key() -> str:
    """What the image is made of: suite, packages and this builder's code (its syntax tree without
    docstrings and comments: reformatting or re-wording it does not rebuild the image)."""
    tree = ast.parse(Path(__file__).read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    h = hashlib.sha256()
    h.update(SUITE.encode())
    h.update("\n".join(PACKAGES).encode())
    h.update(ast.dump(tree).encode())
    return h.hexdigest()[:16]


def cached() -> Image:
    return Image(CACHE / recipe_key())


def mirror() -> str:
    """The Debian mirror this machine's apt uses (the only registry reachable here)."""
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if not path.is_file():
            continue
        text = path.read_text()
        for line in text.splitlines():
            words = line.split()
            if line.startswith("URIs:") and "security" not in line and words[1].rstrip("/").endswith("/debian"):
                return words[1]
            if words[:1] == ["deb"] and len(words) > 2 and words[2] == SUITE:
                return words[1]
    return "http://deb.debian.org/debian"


def _run(argv: list[str], log: list[str], **kwargs: object) -> None:
    start = time.monotonic()
    res = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    log.append(f"$ {' '.join(argv)}  ({time.monotonic() - start:.1f}s, exit {res.returncode})")
    if res.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed (exit {res.returncode}):\n{res.stdout[-3000:]}{res.stderr[-3000:]}"
        )


def _configure(root: Path) -> None:
    (root / "etc/cloud/cloud.cfg.d/05_kubev6.cfg").write_text(CLOUD_CFG)
    (root / "etc/network/interfaces").write_text(INTERFACES)
    (root / "etc/network/interfaces.d").mkdir(exist_ok=True)
    (root / "etc/fstab").write_text(FSTAB)
    # Every machine gets its own identity on first boot: no host keys, no machine id in the image.
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/machine-id").write_text("")
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    (root / "etc/hostname").write_text("localhost\n")
    (root / "etc/resolv.conf").unlink(missing_ok=True)
    # Without its host keys sshd would not start; cloud-init's ssh module makes them before sshd.
    for unit in DISABLED_UNITS:
        subprocess.run(["chroot", str(root), "systemctl", "disable", unit], capture_output=True, check=False)
        subprocess.run(["chroot", str(root), "systemctl", "mask", unit], capture_output=True, check=False)
    # apt caches and lists: the guests never run apt.
    for d in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for p in (root / d).glob("*"):
            if p.is_file():
                p.unlink()


def _versions(root: Path) -> dict[str, str]:
    res = subprocess.run(
        ["chroot", str(root), "dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *PACKAGES],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split(" ", 1) for line in res.stdout.splitlines() if line)


def build(force: bool = False, log: list[str] | None = None, deb_cache: bool = True) -> tuple[Image, float, bool]:
    """The cached image (built if missing or `force`); returns (image, seconds, built).
    `deb_cache=False` downloads every package again (a cold build)."""
    log = log if log is not None else []
    start = time.monotonic()
    image = cached()
    if image.complete() and not force:
        _link(image)
        return image, time.monotonic() - start, False
    CACHE.mkdir(parents=True, exist_ok=True)
    work = CACHE / f".build-{image.dir.name}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    root = work / "root"
    root.mkdir(parents=True)
    try:
        argv = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}"]
        if deb_cache:
            DEB_CACHE.mkdir(parents=True, exist_ok=True)
            argv.append(f"--cache-dir={DEB_CACHE}")
        try:
            _run([*argv, SUITE, str(root), mirror()], log)
        except RuntimeError as exc:
            detail = root / "debootstrap" / "debootstrap.log"
            tail = detail.read_text(errors="replace")[-4000:] if detail.is_file() else ""
            raise RuntimeError(f"{exc}\n--- debootstrap.log (end) ---\n{tail}") from None
        _configure(root)
        versions = _versions(root)
        kernels = sorted((root / "boot").glob("vmlinuz-*"))
        initrds = sorted((root / "boot").glob("initrd.img-*"))
        if not kernels or not initrds:
            raise RuntimeError(f"no kernel or initrd in {root / 'boot'}")
        shutil.copy2(kernels[-1], work / "vmlinuz")
        shutil.copy2(initrds[-1], work / "initrd.img")
        raw = work / "disk.raw"
        _run(["mkfs.ext4", "-q", "-L", "kv6root", "-d", str(root), str(raw), SIZE], log)
        _run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(work / "disk.qcow2")], log)
        raw.unlink()
        shutil.rmtree(root)
        manifest = {
            "recipe": image.dir.name,
            "suite": SUITE,
            "mirror": mirror(),
            "kernel": kernels[-1].name,
            "cmdline": KERNEL_CMDLINE,
            "packages": versions,
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(time.monotonic() - start, 1),
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        # Readable by the emulator (libvirt runs QEMU as libvirt-qemu).
        for p in work.iterdir():
            p.chmod(0o644)
        work.chmod(0o755)
        shutil.rmtree(image.dir, ignore_errors=True)
        work.rename(image.dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _link(image)
    return image, time.monotonic() - start, True


def _link(image: Image) -> None:
    """LINK -> the image's folder (replaced atomically)."""
    tmp = LINK.with_name(LINK.name + ".new")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(image.dir.name)
    tmp.replace(LINK)
