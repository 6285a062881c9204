"""`python -m harness.vmlab image|up|check|down|status`: the VM lab (real VMs under libvirt, software emulation).

image [--force] [--no-deb-cache]  build the base image (cached by content), print its time
up [--check] [--force-image]       image, libvirtd, `pulumi up --stack vmlab`, test server; --check: then check
check [--no-reboot]                the checks in the guests, reboots, a second `up` that changes nothing
down                               `pulumi destroy`, prove nothing is left, stop what `up` started
status                             what this lab started and what libvirt holds of the stack
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from harness.vmlab import image
from harness.vmlab.session import STACK, VmLab, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.vmlab", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("command", choices=["image", "up", "check", "down", "status"])
    parser.add_argument("--stack", default=STACK)
    parser.add_argument("--force", action="store_true", help="image: build even if cached")
    parser.add_argument("--no-deb-cache", action="store_true", help="image: download every package again")
    parser.add_argument("--force-image", action="store_true", help="up: rebuild the image first")
    parser.add_argument("--check", action="store_true", help="up: run the checks afterwards")
    parser.add_argument("--no-reboot", action="store_true", help="check: skip the reboots")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("the VM lab needs root (libvirt, debootstrap, a network namespace)", file=sys.stderr)
        return 2

    if args.command == "image":
        log: list[str] = []
        img, seconds, built = image.build(force=args.force, log=log, deb_cache=not args.no_deb_cache)
        print("\n".join(log))
        print(f"image {img.dir}: {'built' if built else 'cached'} in {seconds:.1f}s")
        print(
            f"  disk {img.disk} ({img.disk.stat().st_size / 2**20:.0f} MiB), kernel {img.kernel}, initrd {img.initrd}"
        )
        return 0

    lab = VmLab(args.stack)
    start = time.monotonic()
    ok = True
    if args.command == "status":
        print(json.dumps(lab.state.load(), indent=2))
        print("\n".join(lab.leftovers()) or "libvirt holds nothing of the stack")
        return 0
    if args.command == "up":
        lab.up(force_image=args.force_image)
        if args.check:
            results = lab.check(reboot=not args.no_reboot)
            ok = all(r.ok for r in results)
            (lab.state_dir / "check.json").write_text(json.dumps(summary(results), indent=2) + "\n")
    elif args.command == "check":
        results = lab.check(reboot=not args.no_reboot)
        ok = all(r.ok for r in results)
        (lab.state_dir / "check.json").write_text(json.dumps(summary(results), indent=2) + "\n")
        print(f"{sum(r.ok for r in results)}/{len(results)} checks passed")
    elif args.command == "down":
        errors = lab.down()
        for e in errors:
            print(f"down: {e}", file=sys.stderr)
        ok = not errors
    print(
        "timings: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in lab.timings.items())
        + f"; total {time.monotonic() - start:.1f}s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
