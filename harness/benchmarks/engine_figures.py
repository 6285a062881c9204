"""Engine figures: `pulumi preview` of each stack against the floor (an empty Python program with
the same CLI), and the lab's `up`, no-change `up` and `destroy` through the real engine.

    sudo .venv/bin/python benchmarks/engine_figures.py [--repeat 3]

Targets (issue 9): every stack previews within 1.5x the floor; a no-change `up` within 1.2x its
preview. Prints medians and the ratios; judge them on an idle machine (2 cores are easily busy).
Without a cluster or a libvirt daemon: harness/benchmarks/preview_figures.py (previews only, each
stack against the empty program of its own round).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pulumi import automation as auto

from config_schemas.stack_files import load_stack_file, stack_names
from harness.commons.engine import EngineEnv, StackRun, engine_env
from harness.commons.libvirtd import running_libvirtd
from harness.enginelab.engine_lab import engine_lab_session

EMPTY_PROGRAM = "import pulumi\n"


def floor_preview(env: EngineEnv, work: Path, venv: Path) -> float:
    """An empty Python program with the same CLI, language host and virtualenv."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "Pulumi.yaml").write_text(
        f"name: empty\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {venv}\n"
    )
    (work / "__main__.py").write_text(EMPTY_PROGRAM)
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(work), env_vars=env.variables(), secrets_provider="passphrase", pulumi_command=env.command()
    )
    stack = auto.create_or_select_stack("floor", work_dir=str(work), opts=opts)
    start = time.monotonic()
    stack.preview()
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="kv6-bench-") as tmp:
        work = Path(tmp)
        env = engine_env(work / "state", passphrase="benchmark")
        floor = statistics.median(floor_preview(env, work / "floor", root / ".venv") for _ in range(args.repeat))
        print(f"floor (empty program) preview: {floor:.2f}s")
        previews: dict[str, float] = {}
        stacks = [s for s in stack_names() if s != "dev"]  # dev is refused on this machine
        with running_libvirtd():
            for stack in stacks:
                run = StackRun(stack, env, work / stack)
                previews[stack] = statistics.median(run.preview().seconds for _ in range(args.repeat))
        for stack in stacks:
            kind = load_stack_file(stack).cluster.platform.kind
            ratio = previews[stack] / floor
            verdict = "ok" if ratio <= 1.5 else "over the 1.5x target"
            print(f"preview {stack:<11} ({kind:<8}) {previews[stack]:.2f}s = {ratio:.2f}x floor  {verdict}")

        with engine_lab_session("lab", env, work / "lab-up", log=lambda m: None) as lab:
            assert lab.run is not None
            up = lab.pulumi_up()
            noop = statistics.median(lab.run.up().seconds for _ in range(args.repeat))
            preview = statistics.median(lab.run.preview().seconds for _ in range(args.repeat))
        destroy = lab.lab.timings.phases.get("pulumi destroy", float("nan"))
        ratio = noop / preview
        print(f"lab up {up.seconds:.2f}s ({up.changes}); destroy {destroy:.2f}s")
        verdict = "ok" if ratio <= 1.2 else "over the 1.2x target"
        print(f"lab no-change up {noop:.2f}s vs preview {preview:.2f}s = {ratio:.2f}x  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
