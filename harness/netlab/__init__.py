"""The network lab: run a stack's RENDERED data plane (routes, sysctls, CNI conflists, NAT64 and
DNS64 configs) on real Linux networking, in network namespaces on this machine.

Layers, each reusable on its own:
1. `topology`: namespaces, the node-network switch, addresses, the IPv4 "internet";
2. `node_config`: per-host /etc, running each host's remote steps (the scripts Pulumi ships);
   `k8s_machine`: namespace machines able to run Kubernetes;
3. `pods` + `cni_runtime`: pods attached by executing the rendered conflist;
4. `checks`: checks returning structured results (the shared ones are `harness.commons.checks`).
`session` ties them together (`Lab`, `lab_session`), `state.cleanup_stale` removes leftovers,
`snapshot` records what a host holds (before `up`, after `destroy`). CLI: `python -m harness.netlab`.
"""
