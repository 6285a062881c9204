"""Preview figures: each stack's `pulumi preview`, the CLI as an operator types it, as a ratio to an
empty Python program previewed by the same CLI and virtualenv in the same run.

    .venv/bin/python harness/benchmarks/preview_figures.py [--rounds 5] [--stack lab-k8s ...]

Target (issue 24, item 1): every stack within 1.5x the empty program. No cluster and no daemon: each
stack is a fresh stack in a backend of this run's own (a preview of nothing deployed, so no machine
is asked for its id), its project a link farm of this repository (as the engine harness makes it),
the artifacts a folder of empty files unless `--real-artifacts`. A libvirt stack needs a libvirt
daemon (the provider connects while previewing): it is left out, and said so, unless one answers.

Round by round, the empty program and then every stack, in turn, so a stack and its yardstick run
minutes apart at most; a stack's ratio is taken against the empty program of its own round, and the
medians of the rounds are printed, wall and CPU (the CLI and everything it waited for), with the
load average before and after. On 2 shared cores the wall ratio follows the load: quote it with it.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from config_schemas.stack_files import load_stack_file, stack_names
from harness.commons.engine import EngineEnv, engine_env
from harness.commons.engine.toolchain import ROOT
from harness.commons.engine.workspace import link_project
from harness.commons.fake_artifacts import make_fake_artifacts
from harness.commons.libvirtd import answers

TARGET = 1.5
FLOOR = "floor"  # the empty program's stack
EMPTY_PROGRAM = "import pulumi\n"


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Project:
    stack: str
    folder: Path


def _cli(env: EngineEnv, project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [str(env.cli_dir / "pulumi"), *args, "--stack", project.stack, "--non-interactive"]
    return subprocess.run(
        argv, cwd=project.folder, env={**os.environ, **env.variables()}, capture_output=True, text=True, check=False
    )


def _init(env: EngineEnv, project: Project) -> None:
    done = _cli(env, project, "stack", "init", "--secrets-provider", "passphrase")
    if done.returncode != 0:
        raise RuntimeError(f"pulumi stack init {project.stack} failed:\n{done.stderr.strip()}")


def floor_project(env: EngineEnv, work: Path) -> Project:
    """An empty Python program with the same CLI, language host and virtualenv as the project."""
    folder = work / FLOOR
    folder.mkdir(parents=True)
    venv = (ROOT / ".venv").resolve()
    (folder / "Pulumi.yaml").write_text(
        f"name: empty\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {venv}\n"
    )
    (folder / "__main__.py").write_text(EMPTY_PROGRAM)
    project = Project(FLOOR, folder)
    _init(env, project)
    return project


def stack_project(env: EngineEnv, work: Path, stack: str) -> Project:
    folder = work / stack / "project"
    link_project(folder, stack)
    project = Project(stack, folder)
    _init(env, project)
    return project


def preview(env: EngineEnv, project: Project) -> tuple[float, float]:
    """Wall and CPU seconds of one `pulumi preview` (CPU: the CLI and every process it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = _cli(env, project, "preview")
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"pulumi preview --stack {project.stack} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def ratios(stack: Timing, floor: Timing) -> tuple[float, float]:
    """Median over the rounds of the stack's wall and CPU against its own round's empty program."""
    wall = statistics.median(s / f for s, f in zip(stack.wall, floor.wall, strict=True))
    cpu = statistics.median(s / f for s, f in zip(stack.cpu, floor.cpu, strict=True))
    return wall, cpu


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="counted rounds (after one not counted)")
    parser.add_argument("--stack", action="append", help="only these stacks (default: every stack file)")
    parser.add_argument(
        "--real-artifacts", action="store_true", help="the built artifacts (the CLI hashes every mirrored file)"
    )
    args = parser.parse_args()
    stacks = args.stack or stack_names()
    libvirt_ok = any(load_stack_file(s).cluster.platform.kind == "libvirt" for s in stacks) and answers()
    with tempfile.TemporaryDirectory(prefix="kv6-preview-") as tmp:
        work = Path(tmp)
        if not args.real_artifacts:
            os.environ["KUBEV6_ARTIFACTS"] = str(work / "artifacts")
            make_fake_artifacts(work / "artifacts")
        env = engine_env(work / "state", passphrase="benchmark")
        projects = [floor_project(env, work)]
        for stack in stacks:
            kind = load_stack_file(stack).cluster.platform.kind
            if kind == "libvirt" and not libvirt_ok:
                print(f"{stack}: left out (libvirt, and no libvirt daemon answers)")
                continue
            projects.append(stack_project(env, work, stack))
        timings = {p.stack: Timing() for p in projects}
        refused: dict[str, str] = {}
        print(f"load average before: {load()}")
        for round_ in range(args.rounds + 1):
            for project in projects:
                if project.stack in refused:
                    continue
                try:
                    wall, cpu = preview(env, project)
                except RuntimeError as exc:  # e.g. `dev` on a machine whose own network is fd00::/64
                    refused[project.stack] = str(exc).splitlines()[-1].strip()
                    continue
                if round_ > 0:  # the first round warms the page cache and the plugins
                    timings[project.stack].wall.append(wall)
                    timings[project.stack].cpu.append(cpu)
        print(f"load average after:  {load()}")
        floor = timings[FLOOR]
        if FLOOR in refused:
            print(f"the empty program failed: {refused[FLOOR]}")
            return 1
        print(
            f"empty program: wall {statistics.median(floor.wall):.2f}s, cpu {statistics.median(floor.cpu):.2f}s "
            f"(medians of {args.rounds} rounds)"
        )
        for project in projects[1:]:
            name = project.stack
            if name in refused:
                print(f"{name:<12} failed: {refused[name]}")
                continue
            t = timings[name]
            wall, cpu = ratios(t, floor)
            verdict = "ok" if wall <= TARGET else f"over {TARGET}x"
            print(
                f"{name:<12} wall {statistics.median(t.wall):.2f}s = {wall:.2f}x, "
                f"cpu {statistics.median(t.cpu):.2f}s = {cpu:.2f}x  {verdict}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
