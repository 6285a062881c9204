"""What the gateway's mirror will serve (kubernetes.artifacts: mirror), read from the artifacts
built on the machine running `pulumi up`."""

from __future__ import annotations

from pathlib import Path

import pulumi

from config_schemas.versions import artifacts_dir
from planning.plan import ClusterPlan
from rendering.bgp import BINARY as BGP_BINARY
from rendering.node_install import MIRROR_BINARIES, MIRROR_IMAGES, REGISTRY_BINARY, MirrorContent

REGISTRY_ARCHIVE = "registry.tar"  # under registry/ of the artifacts, beside bin/registry
RUNTIME_FILE = "RUNTIME"  # which containerd and runc the build made


def mirror_source(plan: ClusterPlan) -> Path:
    source = plan.mirror.source
    return Path(source) if source else artifacts_dir(plan.kubeadm.kubernetes.version)


def mirror_content(plan: ClusterPlan) -> MirrorContent:
    """What the mirror will serve, read from the local artifacts folder; a clear error if it is not built."""
    source = mirror_source(plan)
    # Every file the build writes, not only some: a half-built folder would fail at kubeadm init.
    binaries = (*MIRROR_BINARIES, *addon_binaries(plan))
    expected = [f"bin/{b}" for b in (*binaries, REGISTRY_BINARY)] + [f"images/{i}" for i in MIRROR_IMAGES]
    if plan.network_policy == "kube-network-policies":
        expected.append(f"images/{POLICY_IMAGE}")
    expected.append(f"registry/{REGISTRY_ARCHIVE}")
    missing = [f for f in expected if not (source / f).is_file()]
    if missing:
        what = ", ".join(missing) if source.is_dir() else "everything (no such folder)"
        raise pulumi.RunError(
            f"kubev6:kubernetes.mirror.source: {source} lacks {what}: build the artifacts first "
            "(bash scripts/build-artifacts.sh), or point the key at a folder with bin/, images/ and registry/"
        )
    runtime = plan.kubeadm.kubernetes.containerd
    built = _built_runtime(source)
    for name, want in (("containerd", runtime.version), ("runc", runtime.runc_version)):
        if built.get(name, want) != want:
            key = "version" if name == "containerd" else "runcVersion"
            raise pulumi.RunError(
                f"kubev6:kubernetes.containerd.{key}: {want} is not what {source} holds ({name} {built[name]}); "
                "set the key to it, or build that version (artifacts/versions.env)"
            )
    images = tuple(sorted(p.name for p in (source / "images").glob("*.tar")))
    return MirrorContent(binaries, images, REGISTRY_ARCHIVE)


POLICY_IMAGE = "kube-network-policies.tar"  # phase network-addons of scripts/build-artifacts.sh


def addon_binaries(plan: ClusterPlan) -> tuple[str, ...]:
    """What the network add-ons add to the mirror's bin/: the BGP speaker with network.routing: bgp."""
    return (BGP_BINARY,) if plan.bgp is not None else ()


def _built_runtime(source: Path) -> dict[str, str]:
    """`RUNTIME` of the build: a `<name> <version>` line for containerd and runc."""
    path = source / RUNTIME_FILE
    if not path.is_file():
        return {}
    return dict(line.split(maxsplit=1) for line in path.read_text().splitlines() if line.strip())
