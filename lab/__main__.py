"""`python -m lab up|down|check|cleanup [--stack lab]`: the network lab for humans.

`up` leaves the lab running (inspect it with `ip netns exec kv6l-m1-p0 ...`); `down` removes it;
`check` brings it up, runs the checks and tears it down (or only runs them with --running).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from lab.checks import ALL_CHECKS
from lab.engine_lab import engine_check
from lab.session import Lab, lab_session
from lab.state import cleanup_stale, list_namespaces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "check", "cleanup", "status"])
    parser.add_argument("--stack", default="lab")
    parser.add_argument("--root-access", action="store_true", help="join the switch from this machine (localBridge)")
    parser.add_argument("--running", action="store_true", help="check: run against a lab that is already up")
    parser.add_argument(
        "--engine", action="store_true", help="check: the real Pulumi engine configures the hosts over SSH"
    )
    parser.add_argument("--only", action="append", choices=sorted(ALL_CHECKS), help="check: run only these checks")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("the lab needs root (network namespaces)", file=sys.stderr)
        return 2

    if args.command == "cleanup":
        print("removed:", ", ".join(cleanup_stale()) or "nothing")
        return 0
    if args.command == "status":
        print("\n".join(list_namespaces()) or "no lab namespaces")
        return 0

    if args.command == "check" and args.engine:
        return engine_check(args.stack, args.only)
    lab = Lab(args.stack, root_access=args.root_access)
    if args.command == "up":
        try:
            lab.up()
        except BaseException:
            lab.down()
            raise
        print(
            f"up: namespaces {', '.join(lab.topology.namespaces())}; pods "
            + ", ".join(f"{p.name}={p.address}" for p in lab.pods)
        )
        return 0
    if args.command == "down":
        errors = lab.down()
        print("\n".join(errors))
        return 0
    # check
    start = time.monotonic()
    if args.running:
        lab.reattach()
        if not lab.execs:
            print(f"no running lab for stack {args.stack} ({lab.names.prefix}-*): run `python -m lab up` first")
            return 2
        results = lab.check(args.only)
    else:
        with lab_session(args.stack, root_access=args.root_access) as running:
            results = running.check(args.only)
            lab = running
    for r in results:
        print(r.report())
    print(f"timings: {lab.timings.report()}; total {time.monotonic() - start:.2f}s")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
