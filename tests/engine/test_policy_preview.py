"""The policy pack fails real previews, naming the rule and the resource.

The program's config checks refuse most bad configs before any resource exists, so each case is one
they let through (a never-expiring token, an IPv4 registry, another Kubernetes patch release) or a
deliberately broken copy of the program (credentials not marked secret, DNS64 in another prefix).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.commons.engine import EngineEnv, EngineError, StackRun
from harness.commons.engine.workspace import POLICY_PACK

pytestmark = pytest.mark.engine


def _failed_policies(run: StackRun) -> str:
    with pytest.raises(EngineError) as err:
        run.preview(policy_packs=[POLICY_PACK])
    out = err.value.output
    assert "❌ kube-v6@" in out, out
    assert "Traceback" not in out
    return out


def _own_copy(run: StackRun, folder: str, file: str, old: str, new: str) -> None:
    """Replace the work copy's link to `folder` by a copy whose `file` has `old` replaced by `new`."""
    link = run.project_dir / folder
    target = link.resolve()
    link.unlink()
    shutil.copytree(target, link, ignore=shutil.ignore_patterns("__pycache__"))
    path = link / file
    text = path.read_text()
    assert old in text, f"{folder}/{file} no longer holds {old!r}: update this test"
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    ("key", "value", "policy", "says"),
    [
        ("kubernetes.tokenTtl", "0s", "join-token-expires", "kubeadm-master-init would create a bootstrap token"),
        ("kubernetes.imageRepository", "192.0.2.10:5000/k8s", "ipv6-only-nodes", "IPv4 192.0.2.10 on a node"),
        ("kubernetes.version", "1.36.0", "kubernetes-version-from-artifacts", "installs Kubernetes 1.36.0"),
    ],
)
def test_config_the_program_accepts_fails_the_policy(
    env: EngineEnv, tmp_path: Path, key: str, value: str, policy: str, says: str
) -> None:
    run = StackRun("large", env, tmp_path)
    run.set_config(key, value, path=True)
    out = _failed_policies(run)
    assert f"[mandatory]  {policy}" in out, out
    assert says in out, out


def test_credentials_not_marked_secret_fail_the_policy(env: EngineEnv, tmp_path: Path) -> None:
    run = StackRun("large", env, tmp_path)
    # The broken program: remote commands no longer mark their output secret, nor hide their logs.
    _own_copy(
        run,
        "components",
        "remote.py",
        'additional_secret_outputs=["stdout", "stderr"] if secret else None',
        "additional_secret_outputs=None",
    )
    out = _failed_policies(run)
    assert "[mandatory]  credentials-are-secrets  (command:remote:Command: kubeadm-master-kubeconfig)" in out, out
    assert "kubeadm-master-kubeconfig prints credentials" in out


def test_dns64_in_another_prefix_fails_the_policy(env: EngineEnv, tmp_path: Path) -> None:
    run = StackRun("lab", env, tmp_path)
    # The broken program: Unbound synthesises in a /80, which no translator serves.
    _own_copy(
        run, "rendering", "gateway.py", 'f"    dns64-prefix: {dns64.prefix}"', 'f"    dns64-prefix: fd6b:7636:64::/80"'
    )
    out = _failed_policies(run)
    assert "[mandatory]  nat64-prefix-rfc6052" in out, out
    assert "RFC 6052 allows only /32, /40, /48, /56, /64 or /96" in out
    assert "the NAT64 prefix differs between resources" in out
