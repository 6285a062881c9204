"""The network lab: run a stack's RENDERED data plane (routes, sysctls, CNI conflists, NAT64 and
DNS64 configs) on real Linux networking, in network namespaces on this machine.

Layers, each reusable on its own:
1. `lab.topology`: namespaces, the node-network switch, addresses, the IPv4 "internet";
2. `lab.node_config`: per-host /etc, running each host's remote steps (the scripts Pulumi ships);
3. `lab.pods` + `lab.cni_runtime`: pods attached by executing the rendered conflist;
4. `lab.checks`: checks returning structured results.
`lab.session` ties them together (`lab_session`), `lab.state.cleanup_stale` removes leftovers.
"""

from lab.session import Lab, lab_session
from lab.state import cleanup_stale

__all__ = ["Lab", "cleanup_stale", "lab_session"]
