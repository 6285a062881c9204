"""Debian packages a host needs: installed online, or required of the image when air-gapped."""

from __future__ import annotations

from collections.abc import Sequence


def debian_packages(packages: Sequence[str], *, air_gapped: bool, extra_online: str = "") -> list[str]:
    """Shell that finds the missing packages and installs them (online), or fails naming them
    (air-gapped: nothing is fetched, the host's image must have them; apt on a lab machine would
    also change the machine the lab runs on)."""
    missing = (
        f"missing=$(for p in {' '.join(packages)}; do dpkg-query -W -f='${{Status}}' $p 2>/dev/null "
        '| grep -q "install ok installed" || echo $p; done)'
    )
    if air_gapped:
        fail = 'echo "kube-v6: Debian packages missing on this air-gapped host (its image must have them): $missing"'
        return [missing, f'if [ -n "$missing" ]; then {fail} >&2; exit 1; fi']
    install = f"apt-get update -q && apt-get install -y -q $missing {extra_online}".rstrip()
    return [missing, f'if [ -n "$missing" ]; then {install}; fi']
