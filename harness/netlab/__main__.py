"""`python -m harness.netlab up|down|check|cleanup|status [--stack lab]`: the network lab for humans.

`up` leaves the lab running (inspect it with `ip netns exec kv6l-m1-p0 ...`); `down` removes it;
`check` brings it up, runs the checks and tears it down (or only runs them with --running).

Exit codes: 0 all good, 1 a check or the lab failed, 2 refused (bad stack, not root, usage),
130 on Ctrl-C (128 + the signal on SIGTERM/SIGHUP); the lab is torn down before exiting.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.commons.shell import CommandFailed
from harness.netlab.checks import ALL_CHECKS
from harness.netlab.preflight import LabRefused, lab_plan
from harness.netlab.session import Lab, LabInterrupted, lab_session
from harness.netlab.state import cleanup_stale, list_namespaces

PROG = "python -m harness.netlab"


@dataclass(frozen=True)
class Configurator:
    """Another configurator of the lab's hosts than running their steps here (the engine lab's
    `pulumi up` over SSH): what `up`, `check` and `down` run instead, each returning an exit code."""

    up: Callable[[str, list[str] | None, bool | None], int]
    check: Callable[[str, list[str] | None, bool | None], int]
    down: Callable[[str, bool | None], int]
    refuse: Callable[[str], str | None] = lambda stack: None  # a reason this stack is not for it


def main(
    argv: list[str] | None = None,
    *,
    prog: str = PROG,
    doc: str | None = None,
    default_stack: str = "lab",
    configurator: Configurator | None = None,
) -> int:
    """The CLI; the engine and Kubernetes labs run it with their `configurator` and name."""
    parser = argparse.ArgumentParser(
        prog=prog, description=doc or __doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = ["up", "down", "check"] if configurator else ["up", "down", "check", "cleanup", "status"]
    parser.add_argument("command", choices=commands)
    parser.add_argument("--stack", default=default_stack)
    if configurator is None:
        parser.add_argument(
            "--root-access", action="store_true", help="join the switch from this machine (localBridge)"
        )
        parser.add_argument("--running", action="store_true", help="check: run against a lab that is already up")
    parser.add_argument("--only", action="append", choices=sorted(ALL_CHECKS), help="check: run only these checks")
    parser.add_argument(
        "--replace",
        action="store_true",
        default=None,
        help="up/check/down/cleanup: remove a running lab of the same names instead of refusing (KUBEV6_LAB_REPLACE=1)",
    )
    args = parser.parse_args(argv)
    args.prog = prog
    fail = functools.partial(_fail, prog)
    try:
        return _run(args, configurator)
    except LabRefused as exc:
        return fail(str(exc), 2)
    except LabInterrupted as exc:
        return fail(f"interrupted by {exc.signal_name}; the lab was torn down", 128 + exc.signum)
    except KeyboardInterrupt:
        return fail("interrupted; the lab was torn down", 128 + signal.SIGINT)
    except (CommandFailed, TimeoutError, RuntimeError, OSError) as exc:
        # The first line says what failed; the command, its exit code and output follow.
        headline, _, details = str(exc).partition("\n")
        return fail(f"failed: {headline or type(exc).__name__}" + (f"\n{details}" if details else ""), 1)


def _fail(prog: str, message: str, code: int) -> int:
    print(f"{prog}: {message}", file=sys.stderr)
    return code


def _run(args: argparse.Namespace, configurator: Configurator | None) -> int:
    if args.command in ("cleanup", "status"):
        _need_root()
        if args.command == "cleanup":
            print("removed:", ", ".join(cleanup_stale(include_running=bool(args.replace))) or "nothing")
        else:
            print("\n".join(list_namespaces()) or "no lab namespaces")
        return 0

    # Before anything on the machine is touched: a stack the lab cannot run is refused here.
    lab_plan(args.stack)
    refused = configurator.refuse(args.stack) if configurator is not None else None
    if refused:
        raise LabRefused(refused)
    _need_root()
    if configurator is not None:
        if args.command == "check":
            return configurator.check(args.stack, args.only, args.replace)
        if args.command == "up":
            return configurator.up(args.stack, args.only, args.replace)
        return configurator.down(args.stack, args.replace)
    # The lab's own plan: the stack's, with this lab instance's names and node network (lab.instance).
    lab = Lab(args.stack, root_access=args.root_access, replace=args.replace)
    if args.command == "up":
        try:
            lab.up()
        except BaseException:
            lab.down()
            raise
        lab.leave_running()
        print(
            f"up: namespaces {', '.join(lab.topology.namespaces())}; pods "
            + ", ".join(f"{p.name}={p.address}" for p in lab.pods)
        )
        return 0
    if args.command == "down":
        lab.adopt()
        errors = lab.down()
        print("\n".join(errors))
        return 0
    # check
    start = time.monotonic()
    if args.running:
        lab.reattach()
        if not lab.execs:
            raise LabRefused(
                f"no running lab for stack {args.stack} ({lab.names.prefix}-*): run `{args.prog} up` first"
            )
        results = lab.check(args.only)
    else:
        with lab_session(args.stack, root_access=args.root_access, replace=args.replace) as running:
            results = running.check(args.only)
            lab = running
    for r in results:
        print(r.report())
    print(f"timings: {lab.timings.report()}; total {time.monotonic() - start:.2f}s")
    return 0 if all(r.ok for r in results) else 1


def _need_root() -> None:
    if os.geteuid() != 0:
        raise LabRefused("the lab needs root (network namespaces)")


if __name__ == "__main__":
    sys.exit(main())
