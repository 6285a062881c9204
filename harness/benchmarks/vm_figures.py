"""VM lab figures: the base image build (cold: every package downloaded again; cached), `pulumi up` of
the `vmlab` stack split into libvirt resources, guest boot and configuration, the critical path (the
slowest chain of dependent resources) as a share of the wall time, a second `up`, and `destroy`.

    sudo .venv/bin/python benchmarks/vm_figures.py [--no-cold] [--json FILE]

Needs no VM lab up (it brings one up and down). About 15-25 minutes on 2 busy cores; software
emulation makes boot the largest share, and the machine's other load moves every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.vmlab import image
from harness.vmlab.session import VmLab


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-cold", action="store_true", help="skip the cold image build (about 4 minutes)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    lab = VmLab(log=lambda _: None)
    if lab.state.load().get("deployed"):
        print("a VM lab is up: `python -m harness.vmlab down` first", file=sys.stderr)
        return 2
    figures: dict[str, object] = {}
    if not args.no_cold:
        _, cold, _ = image.build(force=True, deb_cache=False)
        figures["image build, cold (no package cached)"] = round(cold, 1)
        print(f"image build cold: {cold:.1f}s")
    _, warm, built = image.build()
    figures["image, cached" if not built else "image build"] = round(warm, 2)
    print(f"image {'cached' if not built else 'built'}: {warm:.2f}s")

    start = time.monotonic()
    try:
        up, up_fig = lab.up()
        print(f"pulumi up: {up.changes}")
        print(up_fig.report())
        figures["up"] = up_fig.as_dict()
        again = lab.up_again()
        print(f"second pulumi up: {again.summary}")
        figures["second up"] = round(again.seconds, 1)
    finally:
        errors = lab.down()
    destroy = lab.timings.get("pulumi destroy")
    figures["destroy"] = None if destroy is None else round(destroy, 1)
    print(f"pulumi destroy: {destroy:.1f}s" if destroy is not None else "pulumi destroy: not run")
    for e in errors:
        print(f"down: {e}", file=sys.stderr)
    print(f"total {time.monotonic() - start:.0f}s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
