"""`python -m harness.k8slab up|down|check [--stack lab-k8s]`: the Kubernetes lab for humans: a
kubeadm cluster on the lab's namespace machines, brought up by `pulumi up` (the engine lab), then
the lab's node checks and the cluster's (`harness.k8slab.k8s_checks`).

`check`: up, checks, `pulumi up` again (must change nothing), `pulumi destroy`, teardown. `up`
leaves the cluster running (the kubeconfig in a 0600 file it names); `down` destroys it. The
conformance suite: `python -m harness.k8slab.conformance`. Exit codes as `python -m harness.netlab`.
"""

from __future__ import annotations

import sys

from harness.enginelab.engine_lab import engine_check, engine_down, engine_up
from harness.k8slab.k8s_checks import run_k8s_checks
from harness.netlab.__main__ import Configurator
from harness.netlab.__main__ import main as lab_main

CLI = "harness.k8slab"  # python -m harness.k8slab
CONFIGURATOR = Configurator(
    up=lambda stack, only, replace: engine_up(stack, only, replace=replace, cluster_checks=run_k8s_checks, cli=CLI),
    check=lambda stack, only, replace: engine_check(
        stack, only, replace=replace, cluster_checks=run_k8s_checks, cli=CLI
    ),
    down=lambda stack, replace: engine_down(stack, replace=replace, cli=CLI),
)


def main(argv: list[str] | None = None) -> int:
    return lab_main(argv, prog=f"python -m {CLI}", doc=__doc__, default_stack="lab-k8s", configurator=CONFIGURATOR)


if __name__ == "__main__":
    sys.exit(main())
