"""artifacts/versions.env is the one place for Kubernetes versions: bash and Python read the
same values, the config default and containerd's sandbox image follow it, and the Go
wrapper modules build what it names."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from config_schemas.model import DEFAULT_KUBERNETES_VERSION, KubernetesConfig
from config_schemas.stack_files import load_stack_file
from config_schemas.versions import ROOT, VERSIONS, VERSIONS_FILE, read_versions
from planning.plan import make_plan
from rendering import kubeadm, node_install


def go_mod(name: str) -> str:
    return (ROOT / "artifacts" / name / "go.mod").read_text()


def required(wrapper: str, module: str) -> str:
    """The version a wrapper's go.mod requires (one line or in a block; tools are `// indirect`)."""
    [version] = re.findall(rf"^(?:require )?\s*{re.escape(module)} v(\S+)(?: // indirect)?$", go_mod(wrapper), re.M)
    return version


def test_bash_and_python_read_the_same_versions() -> None:
    script = f"set -euo pipefail; source {VERSIONS_FILE}; " + "; ".join(f'echo "{k}=${k}"' for k in VERSIONS)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert dict(line.split("=", 1) for line in done.stdout.splitlines()) == VERSIONS


def test_the_config_default_and_the_rendered_files_follow_it() -> None:
    assert DEFAULT_KUBERNETES_VERSION == VERSIONS["KUBERNETES_VERSION"] == KubernetesConfig().version
    plan = make_plan(load_stack_file("dev").cluster)
    [_, cluster, *_] = kubeadm.init_documents(plan.kubeadm, plan.master, "abcdef.0123456789abcdef")
    assert cluster["kubernetesVersion"] == f"v{VERSIONS['KUBERNETES_VERSION']}"
    assert f'/pause:{VERSIONS["PAUSE_VERSION"]}"' in node_install.containerd_config(plan.kubeadm.kubernetes).content


def test_the_kubernetes_wrapper_builds_that_version_with_matching_staging_modules() -> None:
    mod = go_mod("kubernetes")
    _, minor, patch = VERSIONS["KUBERNETES_VERSION"].split(".")
    assert required("kubernetes", "k8s.io/kubernetes") == VERSIONS["KUBERNETES_VERSION"]
    replaced = re.findall(r"^\t(k8s\.io/\S+) => (\S+) (\S+)$", mod, re.M)
    assert len(replaced) > 20
    assert {(a == b, v) for a, b, v in replaced} == {(True, f"v0.{minor}.{patch}")}


@pytest.mark.parametrize(
    ("wrapper", "module", "key"),
    [
        ("etcd", "go.etcd.io/etcd/server/v3", "ETCD_VERSION"),
        ("coredns", "github.com/coredns/coredns", "COREDNS_VERSION"),
    ],
)
def test_the_other_wrappers_build_that_minor_version(wrapper: str, module: str, key: str) -> None:
    """Exactly that version, unless the module proxy refused it and the build took the nearest
    served one (recorded by scripts/build-artifacts.sh): the same minor, at least."""
    got = required(wrapper, module)
    assert got.split(".")[:2] == VERSIONS[key].split(".")[:2]


def test_a_malformed_line_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "versions.env"
    bad.write_text('# ok\nKUBERNETES_VERSION="1.36.1"\n')
    with pytest.raises(ValueError, match=r"versions.env:2: expected a plain KEY=VALUE line"):
        read_versions(bad)
