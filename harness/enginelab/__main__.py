"""`python -m harness.enginelab up|down|check [--stack lab]`: the network lab with the real Pulumi
engine as its configurator (`pulumi up` over SSH to the lab's hosts), for humans.

`check`: hosts up, `pulumi up`, the lab's pods and checks, `pulumi up` again (must change nothing),
`pulumi destroy`, teardown. `up` leaves it running; `down` destroys it. A stack that runs Kubernetes
(`stages.kubeadm`) is the Kubernetes lab's: `python -m harness.k8slab`. Exit codes as
`python -m harness.netlab`.
"""

from __future__ import annotations

import sys

from harness.enginelab.engine_lab import CLI, engine_check, engine_down, engine_up
from harness.netlab.__main__ import Configurator
from harness.netlab.__main__ import main as lab_main
from harness.netlab.preflight import lab_plan


def _refuse(stack: str) -> str | None:
    if lab_plan(stack).stages.kubeadm:
        return f"stack {stack} runs Kubernetes: `python -m harness.k8slab` brings it up and checks the cluster"
    return None


CONFIGURATOR = Configurator(
    up=lambda stack, only, replace: engine_up(stack, only, replace=replace),
    check=lambda stack, only, replace: engine_check(stack, only, replace=replace),
    down=lambda stack, replace: engine_down(stack, replace=replace),
    refuse=_refuse,
)


def main(argv: list[str] | None = None) -> int:
    return lab_main(argv, prog=f"python -m {CLI}", doc=__doc__, configurator=CONFIGURATOR)


if __name__ == "__main__":
    sys.exit(main())
